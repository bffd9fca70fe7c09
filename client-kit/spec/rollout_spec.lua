-- Staged rollouts on the client: which release an install takes from a pointer with a rollout block,
-- and how it follows widen, halt, abort and complete without ever going to a lower sequence.

local W = require("spec.support.world")

-- From spec/fixtures/cohort-vectors.json (computed independently in Python): this install id has
-- bucket 596 under SALT_A.
local SALT_A = "0badc0ffee0ddf00d15ea5e5ca1ab1e0"
local SALT_B = "3f1a9c0e5b7d4e21a8c6f0b2d4e6a8c0" -- bucket 9770 for the same install
local INSTALL = "0123456789abcdef0123456789abcdef"

local function shas(state)
	local out = {}
	for _, a in ipairs(state.archives or {}) do out[#out + 1] = a.sha256 end
	return out
end

describe("lup_client staged rollouts", function()
	local save_root, cdn, stable_zip, candidate_zip
	local function stable() return { { archive = stable_zip, name = "common.zip", priority = 10 } } end
	local function candidate() return { { archive = candidate_zip, name = "common.zip", priority = 10 } } end
	local function session()
		local engine = W.session(save_root, cdn)
		return engine, W.client(engine)
	end
	local function publish(sequence, rollout, release)
		return cdn.publish({ sequence = sequence, release = release or "r1", archives = release == "r2" and candidate() or stable(), rollout = rollout })
	end

	before_each(function()
		save_root = W.tmpdir()
		cdn = W.cdn()
		stable_zip = cdn.add_archive("sample", "stable", 2000)
		candidate_zip = cdn.add_archive("sample", "candidate", 2100)
		local engine = W.session(save_root, cdn)
		assert.is_true(engine.sys.save(engine.sys.get_save_file("game", "lup-install-id"), { id = INSTALL }))
	end)

	it("takes the candidate when active and its bucket is below the share", function()
		publish(2, { release = "r2", archives = candidate(), salt = SALT_A, share = 597 })
		local engine, client = session()
		assert.are.equal(INSTALL, client:install_id())
		local r = W.call(engine, client, "update")
		assert.is_true(r.ok, r.message)
		assert.are.same({ "updated", "candidate", "r2", 2 }, { r.status, r.cohort, r.release_id, r.sequence })
		local state = W.read_state(engine)
		assert.are.same({ candidate_zip.sha256 }, shas(state))
		assert.are.equal(SALT_A, state.rollout_salt)
	end)

	it("takes the stable release when its bucket is not below the share, or under another salt", function()
		for _, case in ipairs({ { salt = SALT_A, share = 596 }, { salt = SALT_B, share = 9770 } }) do
			save_root = W.tmpdir()
			local e = W.session(save_root, cdn)
			e.sys.save(e.sys.get_save_file("game", "lup-install-id"), { id = INSTALL })
			publish(2, { release = "r2", archives = candidate(), salt = case.salt, share = case.share })
			local engine, client = session()
			local r = W.call(engine, client, "update")
			assert.are.same({ "updated", "stable", "r1" }, { r.status, r.cohort, r.release_id })
			assert.are.same({ stable_zip.sha256 }, shas(W.read_state(engine)))
			assert.is_nil(W.read_state(engine).rollout_salt)
		end
	end)

	it("joins on widening, keeps the candidate when halted, and a halted rollout takes no new installs", function()
		publish(2, { release = "r2", archives = candidate(), salt = SALT_A, share = 100 })
		local engine, client = session()
		assert.are.same({ "stable", "r1" }, (function(r) return { r.cohort, r.release_id } end)(W.call(engine, client, "update")))
		publish(3, { release = "r2", archives = candidate(), salt = SALT_A, share = 1000 })
		engine, client = session()
		local r = W.call(engine, client, "update")
		assert.are.same({ "updated", "candidate", "r2", 3 }, { r.status, r.cohort, r.release_id, r.sequence })
		publish(4, { release = "r2", archives = candidate(), salt = SALT_A, share = 1000, state = "halted" })
		engine, client = session()
		assert.are.equal("mounted", W.call(engine, client, "start").status)
		r = W.call(engine, client, "update")
		assert.are.same({ "updated", "candidate", "r2", 4, 0 }, { r.status, r.cohort, r.release_id, r.sequence, r.downloaded_bytes })
		assert.are.same({ candidate_zip.sha256 }, shas(W.read_state(engine)))
		-- another install in the cohort (bucket 596 < 1000) that never took it gets the stable release
		save_root = W.tmpdir()
		local e = W.session(save_root, cdn)
		e.sys.save(e.sys.get_save_file("game", "lup-install-id"), { id = INSTALL })
		engine, client = session()
		r = W.call(engine, client, "update")
		assert.are.same({ "updated", "stable", "r1" }, { r.status, r.cohort, r.release_id })
	end)

	it("returns to the stable release at a higher sequence on abort, and never to a lower sequence", function()
		local with_rollout = publish(2, { release = "r2", archives = candidate(), salt = SALT_A, share = 5000 })
		local engine, client = session()
		assert.are.equal("r2", W.call(engine, client, "update").release_id)
		publish(3) -- aborted: the block is gone, r1 stays
		engine, client = session()
		W.call(engine, client, "start")
		local r = W.call(engine, client, "update")
		assert.are.same({ true, "updated", "r1", 3, 2 }, { r.ok, r.status, r.release_id, r.sequence, r.previous_sequence })
		assert.is_nil(r.cohort)
		assert.are.same({ stable_zip.sha256 }, shas(W.read_state(engine)))
		assert.is_nil(W.read_state(engine).rollout_salt)
		-- the old pointer with the rollout, replayed, is refused
		cdn.files["channels/sample/stable.json"] = require("cjson").encode(with_rollout)
		engine, client = session()
		W.call(engine, client, "start")
		r = W.call(engine, client, "update")
		assert.are.same({ false, "POINTER_DOWNGRADE" }, { r.ok, r.code })
		assert.are.same({ stable_zip.sha256 }, shas(W.read_state(engine)))
	end)

	it("follows complete: the candidate becomes the stable release, nothing downloaded again", function()
		publish(2, { release = "r2", archives = candidate(), salt = SALT_A, share = 700 })
		local engine, client = session()
		assert.are.equal("r2", W.call(engine, client, "update").release_id)
		publish(3, nil, "r2")
		engine, client = session()
		W.call(engine, client, "start")
		local r = W.call(engine, client, "update")
		assert.are.same({ "updated", "r2", 3, 0 }, { r.status, r.release_id, r.sequence, r.downloaded_bytes })
		assert.is_nil(W.read_state(engine).rollout_salt)
	end)

	it("a new rollout of the same release (new salt) draws the cohort again", function()
		publish(2, { release = "r2", archives = candidate(), salt = SALT_A, share = 700 })
		local engine, client = session()
		assert.are.equal("r2", W.call(engine, client, "update").release_id)
		publish(3) -- aborted
		publish(4, { release = "r2", archives = candidate(), salt = SALT_B, share = 700 }) -- bucket 9770 now
		engine, client = session()
		W.call(engine, client, "start")
		local r = W.call(engine, client, "update")
		assert.are.same({ "updated", "stable", "r1", 4 }, { r.status, r.cohort, r.release_id, r.sequence })
	end)
end)
