-- Behaviour of lup_client against the engine stubs and a fake CDN.

local W = require("spec.support.world")
local lup = require("lup_client.lup_client")

local function mounted_names(engine)
	local out = {}
	for _, m in ipairs(engine.mounted()) do out[#out + 1] = m.name .. "@" .. m.priority end
	return out
end

-- What the pointer says, in the same form as mounted_names.
local function expected_mounts(pointer)
	local out = {}
	local sorted = {}
	for _, a in ipairs(pointer.archives) do sorted[#sorted + 1] = a end
	table.sort(sorted, function(a, b) return a.priority > b.priority end)
	for _, a in ipairs(sorted) do out[#out + 1] = lup._mount_name(a.sha256, a.priority) .. "@" .. a.priority end
	return out
end

local function state_shas(state)
	local out = {}
	for _, a in ipairs(state.archives or {}) do out[#out + 1] = a.sha256 end
	return out
end

local function pointer_shas(pointer)
	local out = {}
	for _, a in ipairs(pointer.archives) do out[#out + 1] = a.sha256 end
	return out
end

describe("lup_client", function()
	local save_root, cdn, common, level1, level2
	before_each(function()
		save_root = W.tmpdir()
		cdn = W.cdn()
		common = cdn.add_archive("sample", "common", 3000)
		level1 = cdn.add_archive("sample", "level1", 2500)
		level2 = cdn.add_archive("sample", "level2", 1800)
	end)

	local function publish_two(sequence)
		return cdn.publish({ sequence = sequence, archives = { { archive = common, name = "common.zip", priority = 10 }, { archive = level1, name = "level1.zip", priority = 20 } } })
	end

	describe("new", function()
		it("reports every bad config field at once, naming each", function()
			local client, e = lup.new({ base_url = "ftp://x", game = "Space Game", channel = "", timeout = 0, retries = -1, engine = {} })
			assert.is_nil(client)
			assert.are.equal("USAGE_INVALID", e.code)
			local fields = {}
			for _, p in ipairs(e.errors) do fields[#fields + 1] = p.field end
			assert.are.same({ "config.base_url", "config.game", "config.channel", "config.timeout", "config.retries", "config.engine.http", "config.engine.sys", "config.engine.liveupdate", "config.engine.json", "config.engine.timer" }, fields)
			assert.are.equal("config.base_url", e.field)
		end)
	end)

	describe("update", function()
		it("downloads, verifies, mounts and persists exactly what the pointer says", function()
			local engine = W.session(save_root, cdn)
			local pointer = publish_two(1)
			local events = {}
			local r = W.call(engine, W.client(engine), "update", function(p) events[#events + 1] = p end)
			assert.is_true(r.ok, r.message)
			assert.are.equal("updated", r.status)
			assert.are.equal(1, r.sequence)
			assert.are.same(expected_mounts(pointer), mounted_names(engine))
			for _, m in ipairs(engine.mounted()) do
				assert.are.equal(m.uri, "zip:" .. save_root .. "/game/lup-sample-stable-" .. W.sha256_hex(m.bytes) .. ".zip")
			end
			local state = W.read_state(engine)
			assert.are.equal(1, state.sequence)
			assert.are.equal("r1", state.release_id)
			assert.are.same(pointer_shas(pointer), state_shas(state))
			-- progress: per archive and overall, ending at the total
			local last = events[#events]
			assert.are.equal(common.sizeBytes + level1.sizeBytes, last.overall_total)
			assert.are.equal(last.overall_total, last.overall_bytes)
			assert.are.equal(2, last.count)
			for i = 2, #events do assert.is_true(events[i].overall_bytes >= events[i - 1].overall_bytes) end
		end)

		it("asks the engine to save each archive with the path option, to a file named by its SHA-256", function()
			local engine = W.session(save_root, cdn)
			publish_two(1)
			W.call(engine, W.client(engine, { timeout = 7 }), "update")
			local paths = {}
			for _, req in ipairs(engine.requests) do
				if req.options.path then paths[#paths + 1] = req.options.path end
				assert.are.equal(7, req.options.timeout)
			end
			assert.are.same({
				save_root .. "/game/lup-sample-stable-" .. common.sha256 .. ".zip.part",
				save_root .. "/game/lup-sample-stable-" .. level1.sha256 .. ".zip.part",
			}, paths)
			assert.is_false(W.file_exists(paths[1]))
			assert.is_true(W.file_exists(save_root .. "/game/lup-sample-stable-" .. common.sha256 .. ".zip"))
		end)

		it("refuses a pointer for another game or channel", function()
			local engine = W.session(save_root, cdn)
			cdn.publish({ game = "sample", channel = "beta", sequence = 1, archives = { { archive = common, name = "c.zip", priority = 1 } } })
			cdn.files["channels/sample/stable.json"] = cdn.files["channels/sample/beta.json"]
			local r = W.call(engine, W.client(engine), "update")
			assert.are.equal("POINTER_MISMATCH", r.code)
			assert.are.equal("channel", r.field)
			assert.are.equal("stable", r.expected)
			assert.are.equal("beta", r.actual)
			assert.are.same({}, engine.mounted())
		end)

		it("never goes backwards: a lower sequence is refused, an equal one is nothing to do", function()
			local engine = W.session(save_root, cdn)
			local client = W.client(engine)
			local pointer = publish_two(5)
			assert.is_true(W.call(engine, client, "update").ok)
			local old = cdn.publish({ sequence = 4, archives = { { archive = level2, name = "level2.zip", priority = 10 } } })
			local r = W.call(engine, client, "update")
			assert.are.equal("POINTER_DOWNGRADE", r.code)
			assert.are.equal("sequence", r.field)
			assert.are.equal("4", r.actual)
			assert.are.same(expected_mounts(pointer), mounted_names(engine))
			assert.are.equal(5, W.read_state(engine).sequence)
			assert.is_not_nil(old)
			publish_two(5)
			local requests = #engine.requests
			local same = W.call(engine, client, "update")
			assert.are.equal("up_to_date", same.status)
			assert.are.equal(requests + 1, #engine.requests) -- the pointer only
		end)

		it("refuses a release that does not list the running engine (SHA-1 of the version string, not version_sha1)", function()
			local engine = W.session(save_root, cdn, { engine_version = "1.10.0" })
			cdn.publish({ sequence = 1, archives = { { archive = common, name = "c.zip", priority = 1 } }, engine_versions = { W.sha1_hex("1.9.0"), "0060183cce2e29dbd09c85ece83cbb72068ee050" } })
			local r = W.call(engine, W.client(engine), "update")
			assert.are.equal("MANIFEST_ENGINE_UNSUPPORTED", r.code)
			assert.are.equal("engineVersions", r.field)
			assert.truthy(r.expected:find(W.sha1_hex("1.10.0"), 1, true))
			assert.are.same({}, engine.mounted())
		end)

		it("never mounts an archive whose bytes differ; deletes it and reports URL, expected and actual digest", function()
			local engine = W.session(save_root, cdn)
			local client = W.client(engine)
			local first = cdn.publish({ sequence = 1, archives = { { archive = common, name = "common.zip", priority = 10 } } })
			assert.is_true(W.call(engine, client, "update").ok)
			cdn.publish({ sequence = 2, archives = { { archive = level2, name = "level2.zip", priority = 10 } } })
			cdn.faults[1] = { match = "archives/", respond = function(body)
				local flipped = body:sub(1, 99) .. string.char((body:byte(100) + 1) % 256) .. body:sub(101)
				return { status = 200, body = flipped }
			end }
			local r = W.call(engine, client, "update")
			assert.are.equal("VERIFY_MISMATCH", r.code)
			assert.are.equal(W.CDN .. level2.path, r.url)
			assert.are.equal("archives[0].sha256", r.field)
			assert.are.equal(level2.sha256, r.expected)
			assert.are_not.equal(level2.sha256, r.actual)
			assert.are.equal(64, #r.actual)
			assert.is_false(W.file_exists(save_root .. "/game/lup-sample-stable-" .. level2.sha256 .. ".zip"))
			assert.is_false(W.file_exists(save_root .. "/game/lup-sample-stable-" .. level2.sha256 .. ".zip.part"))
			assert.are.same(expected_mounts(first), mounted_names(engine))
			assert.are.equal(1, W.read_state(engine).sequence)
			assert.are.same({ "lup-sample-stable-" .. common.sha256 .. ".zip" }, W.read_state(engine).files)
			-- and recovers once the CDN serves the right bytes
			local again = W.call(engine, client, "update")
			assert.is_true(again.ok, again.message)
			assert.are.equal(2, W.read_state(engine).sequence)
		end)

		it("refuses a short download by its size", function()
			local engine = W.session(save_root, cdn)
			publish_two(1)
			cdn.faults[1] = { match = "archives/", respond = function(body) return { status = 200, body = body:sub(1, 100) } end }
			local r = W.call(engine, W.client(engine), "update")
			assert.are.equal("VERIFY_MISMATCH", r.code)
			assert.are.equal("archives[0].sizeBytes", r.field)
			assert.are.equal("100 bytes", r.actual)
			assert.are.same({}, engine.mounted())
		end)

		it("retries status 0, timeouts and 5xx with doubling backoff, then succeeds", function()
			local engine = W.session(save_root, cdn)
			local pointer = publish_two(1)
			cdn.faults = {
				{ match = "^channels/", times = 1, respond = function() return { status = 503, body = "" } end },
				{ match = "^channels/", times = 1, respond = function() return { timeout = true } end },
				{ match = "archives/", times = 1, respond = function() return { status = 0, error = "connection reset" } end },
			}
			local r = W.call(engine, W.client(engine, { backoff = 0.5 }), "update")
			assert.is_true(r.ok, r.message)
			local times = {}
			for _, req in ipairs(engine.requests) do if req.url:match("channels/") then times[#times + 1] = req.at end end
			assert.are.same({ 0, 0.5, 1.5 }, times)
			assert.are.same(expected_mounts(pointer), mounted_names(engine))
		end)

		it("gives up after the configured retries with DOWNLOAD_FAILED, and reports a missing channel at once", function()
			local engine = W.session(save_root, cdn)
			publish_two(1)
			cdn.faults = { { match = "^channels/", times = 10, respond = function() return { status = 502, body = "" } end } }
			local r = W.call(engine, W.client(engine, { retries = 2 }), "update")
			assert.are.equal("DOWNLOAD_FAILED", r.code)
			assert.are.equal("status 502", r.actual)
			assert.are.equal(3, #engine.requests)
			cdn.faults = {}
			local empty = W.call(engine, W.client(engine, { channel = "beta" }), "update")
			assert.are.equal("CHANNEL_EMPTY", empty.code)
			assert.are.equal(4, #engine.requests)
		end)

		it("leaves the previous content mounted and persisted when a new mount fails", function()
			local engine = W.session(save_root, cdn)
			local client = W.client(engine)
			local first = cdn.publish({ sequence = 1, archives = { { archive = common, name = "common.zip", priority = 10 } } })
			assert.is_true(W.call(engine, client, "update").ok)
			cdn.publish({ sequence = 2, archives = { { archive = level1, name = "level1.zip", priority = 10 }, { archive = level2, name = "level2.zip", priority = 20 } } })
			engine.fail_next_mount = engine.liveupdate.LIVEUPDATE_FORMAT_ERROR
			local r = W.call(engine, client, "update")
			assert.are.equal("MOUNT_FAILED", r.code)
			assert.are.equal("-9", r.actual)
			assert.are.same(expected_mounts(first), mounted_names(engine))
			local state = W.read_state(engine)
			assert.are.equal(1, state.sequence)
			assert.are.same(pointer_shas(first), state_shas(state))
			assert.is_false(W.file_exists(save_root .. "/game/lup-sample-stable-" .. level1.sha256 .. ".zip"))
		end)

		it("switches atomically: keeps shared archives, unmounts and deletes the old ones", function()
			local engine = W.session(save_root, cdn)
			local client = W.client(engine)
			publish_two(1)
			assert.is_true(W.call(engine, client, "update").ok)
			local second = cdn.publish({ sequence = 2, archives = { { archive = common, name = "common.zip", priority = 10 }, { archive = level2, name = "level2.zip", priority = 20 } } })
			local before = #engine.requests
			local r = W.call(engine, client, "update")
			assert.is_true(r.ok, r.message)
			assert.are.equal(before + 2, #engine.requests) -- pointer + level2 only
			assert.are.same(expected_mounts(second), mounted_names(engine))
			assert.are.same(pointer_shas(second), state_shas(W.read_state(engine)))
			assert.is_false(W.file_exists(save_root .. "/game/lup-sample-stable-" .. level1.sha256 .. ".zip"))
			assert.is_true(W.file_exists(save_root .. "/game/lup-sample-stable-" .. common.sha256 .. ".zip"))
		end)

		it("keeps the previous state when sys.save fails", function()
			local engine = W.session(save_root, cdn)
			local client = W.client(engine)
			local first = cdn.publish({ sequence = 1, archives = { { archive = common, name = "common.zip", priority = 10 } } })
			assert.is_true(W.call(engine, client, "update").ok)
			cdn.publish({ sequence = 2, archives = { { archive = level2, name = "level2.zip", priority = 10 } } })
			engine.fail_save = true
			local r = W.call(engine, client, "update")
			assert.are.equal("STATE_WRITE_FAILED", r.code)
			engine.fail_save = false
			assert.are.same(pointer_shas(first), state_shas(W.read_state(engine)))
		end)

		it("answers BUSY to a second call while one runs", function()
			local engine = W.session(save_root, cdn)
			local client = W.client(engine)
			publish_two(1)
			local first, second
			client:update(function(r) first = r end)
			client:update(function(r) second = r end)
			engine.run()
			assert.is_true(first.ok)
			assert.are.equal("BUSY", second.code)
		end)

		it("without extension-crypt checks sizes only, and says so once in the log", function()
			local engine = W.session(save_root, cdn, { crypt = false })
			local pointer = publish_two(1)
			local r = W.call(engine, W.client(engine), "update")
			assert.is_true(r.ok, r.message)
			assert.are.same(expected_mounts(pointer), mounted_names(engine))
			local warnings = 0
			for _, l in ipairs(engine.log) do if l.message:find("extension-crypt", 1, true) then warnings = warnings + 1 end end
			assert.are.equal(1, warnings)
		end)

		it("refuses a loose-resource release on engines 1.5 and later, and hands engines <= 1.4 the resource base", function()
			local engine = W.session(save_root, cdn)
			cdn.publish({ sequence = 1, archives = {} })
			local r = W.call(engine, W.client(engine), "update")
			assert.are.equal("LOOSE_UNSUPPORTED", r.code)
			assert.are.equal("archives", r.field)
			local old = W.session(W.tmpdir(), cdn, { engine_version = "1.4.8" })
			cdn.publish({ sequence = 1, archives = {}, engine_versions = { W.sha1_hex("1.4.8") } })
			local loose = W.call(old, W.client(old), "update")
			assert.is_true(loose.ok, loose.message)
			assert.are.equal("loose", loose.status)
			assert.are.equal(W.CDN .. "content/sample/resources/", loose.resources_base)
			assert.are.equal(W.CDN .. "channels/sample/stable.dmanifest", loose.manifest)
		end)
	end)

	describe("start", function()
		it("re-mounts in a new session what an earlier one verified, in priority order, confirmed by get_mounts", function()
			local pointer = publish_two(3)
			local first = W.session(save_root, cdn)
			assert.is_true(W.call(first, W.client(first), "update").ok)
			local engine = W.session(save_root, cdn)
			assert.are.same({}, engine.mounted())
			local r = W.call(engine, W.client(engine), "start")
			assert.is_true(r.ok, r.message)
			assert.are.equal("mounted", r.status)
			assert.are.equal(3, r.sequence)
			assert.are.same(expected_mounts(pointer), mounted_names(engine))
			assert.are.equal(0, #engine.requests)
		end)

		it("is empty on a first run", function()
			local engine = W.session(save_root, cdn)
			local r = W.call(engine, W.client(engine), "start")
			assert.are.equal("empty", r.status)
			assert.are.same({}, engine.mounted())
		end)

		it("drops content verified for another engine, deletes its files, then re-applies the same sequence", function()
			cdn.publish({ sequence = 2, archives = { { archive = common, name = "common.zip", priority = 10 } } })
			local first = W.session(save_root, cdn)
			assert.is_true(W.call(first, W.client(first), "update").ok)
			local engine = W.session(save_root, cdn, { engine_version = "1.10.0" })
			local r = W.call(engine, W.client(engine), "start")
			assert.are.equal("dropped", r.status)
			assert.truthy(r.reason:find("1.10.0", 1, true))
			assert.are.same({}, engine.mounted())
			assert.is_false(W.file_exists(save_root .. "/game/lup-sample-stable-" .. common.sha256 .. ".zip"))
			local pointer = cdn.publish({ sequence = 2, archives = { { archive = common, name = "common.zip", priority = 10 } }, engine_versions = { W.sha1_hex("1.10.0") } })
			local again = W.call(engine, W.client(engine), "update")
			assert.are.equal("updated", again.status)
			assert.are.same(expected_mounts(pointer), mounted_names(engine))
		end)

		it("drops content verified under another app version", function()
			publish_two(1)
			local first = W.session(save_root, cdn)
			assert.is_true(W.call(first, W.client(first, { app_version = "1.0" }), "update").ok)
			local engine = W.session(save_root, cdn)
			local r = W.call(engine, W.client(engine, { app_version = "1.1" }), "start")
			assert.are.equal("dropped", r.status)
			assert.truthy(r.reason:find("1.0", 1, true))
			assert.are.same({}, engine.mounted())
		end)

		it("drops content whose file changed size since it was verified", function()
			publish_two(1)
			local first = W.session(save_root, cdn)
			assert.is_true(W.call(first, W.client(first), "update").ok)
			local path = save_root .. "/game/lup-sample-stable-" .. level1.sha256 .. ".zip"
			local f = assert(io.open(path, "ab"))
			f:write("x")
			f:close()
			local engine = W.session(save_root, cdn)
			local r = W.call(engine, W.client(engine), "start")
			assert.are.equal("dropped", r.status)
			assert.are.same({}, engine.mounted())
		end)

		it("deletes an interrupted download at start and never mounts it", function()
			publish_two(1)
			local first = W.session(save_root, cdn)
			local client = W.client(first)
			cdn.faults[1] = { match = "archives/", respond = function() error("the app was killed") end }
			assert.has_error(function() W.call(first, client, "update") end)
			local part = save_root .. "/game/lup-sample-stable-" .. common.sha256 .. ".zip.part"
			assert.truthy(W.read_state(first).files[1]:find(".part", 1, true))
			assert.is_false(W.file_exists(part))
			local f = assert(io.open(part, "wb"))
			f:write("PK\3\4half")
			f:close()
			local engine = W.session(save_root, cdn)
			local r = W.call(engine, W.client(engine), "start")
			assert.are.equal("empty", r.status)
			assert.is_false(W.file_exists(part))
			assert.are.same({}, engine.mounted())
		end)

		it("removes stale mounts of its own left by an earlier session", function()
			local engine = W.session(save_root, cdn)
			local path = engine.sys.get_save_file("game", "lup-sample-stable-" .. level2.sha256 .. ".zip")
			local f = assert(io.open(path, "wb"))
			f:write(cdn.files[level2.path])
			f:close()
			local stale = lup._mount_name(level2.sha256, 5)
			engine.liveupdate.add_mount(stale, "zip:" .. path, 5, function() end)
			engine.run()
			assert.are.equal(1, #engine.mounted())
			local r = W.call(engine, W.client(engine), "start")
			assert.are.equal("empty", r.status)
			assert.are.same({}, engine.mounted())
		end)
	end)

	describe("mount names", function()
		it("stay below the engine's 64-character limit and never start with an underscore", function()
			local name = lup._mount_name(string.rep("f", 64), 2147483647)
			assert.is_true(#name < 64)
			assert.are_not.equal("_", name:sub(1, 1))
		end)
	end)

	describe("install_id", function()
		it("is 32 hex characters, created once and kept across sessions", function()
			local a = W.session(save_root, cdn)
			local id = W.client(a):install_id()
			assert.truthy(id:match("^%x+$"))
			assert.are.equal(32, #id)
			local b = W.session(save_root, cdn)
			assert.are.equal(id, W.client(b):install_id())
			local other = W.session(W.tmpdir(), cdn)
			assert.are_not.equal(id, W.client(other):install_id())
		end)
	end)

	describe("engine digest without extension-crypt", function()
		it("computes SHA-1 in Lua exactly as coreutils does", function()
			local bit = require("bit")
			for _, s in ipairs({ "", "1.9.0", "1.10.2", string.rep("a", 55), string.rep("b", 56), string.rep("c", 64), string.rep("d", 119) }) do
				assert.are.equal(W.sha1_hex(s), lup._sha1_hex(bit, s))
			end
		end)
	end)

	describe("globals", function()
		it("defines none while loading and running", function()
			package.loaded["lup_client.lup_client"] = nil
			local mt = getmetatable(_G)
			setmetatable(_G, { __newindex = function(_, k) error("global written: " .. tostring(k)) end })
			local ok, problem = pcall(function()
				local fresh = require("lup_client.lup_client")
				local engine = W.session(save_root, cdn)
				publish_two(1)
				local result
				local client = assert(fresh.new({ base_url = W.CDN, game = "sample", channel = "stable", app_id = "game", engine = engine.port(), log = function() end }))
				client:update(function(r) result = r end)
				engine.run()
				assert(result.ok, result.message)
				client:install_id()
			end)
			setmetatable(_G, mt)
			assert.is_true(ok, tostring(problem))
		end)
	end)
end)
