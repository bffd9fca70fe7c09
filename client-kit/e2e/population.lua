--- A population of app installs, each with its own save folder and persisted install id, running
-- lup_client sessions against a real CDN: for the staged-rollout end-to-end test
-- (test/client-kit/rollout-e2e.test.ts). Same engine stubs as driver.lua (real HTTP with LuaSocket,
-- real SHA-256 by coreutils, mounts that last one session).
--
--   lua population.lua <cdn base url> <save root> <engine version> <game> <ids file> <step>...
--
-- <ids file> holds one install id per line; install i keeps its save folder <save root>/<i>, and its
-- id is written there as the kit's own persisted id the first time (a real install generates it).
-- Prints one JSON line: per install, the last step's result, the mounts and the persisted state.
package.path = "./?.lua;../?.lua;" .. package.path

local cjson = require("cjson")
local Engine = require("spec.support.engine")
local lup = require("lup_client.lup_client")

local base_url, save_root, engine_version, game, ids_file = arg[1], arg[2], arg[3], arg[4], arg[5]
local steps = {}
for i = 6, #arg do steps[#steps + 1] = arg[i] end

local ids = {}
for line in assert(io.open(ids_file, "rb")):lines() do
	if line ~= "" then ids[#ids + 1] = line end
end

-- Every save folder made in one command: the stub's sys.get_save_file runs `mkdir -p` per call, which
-- costs a process per call (minutes over a population); the folder is the same, so it is made once.
local dirs = {}
for index = 1, #ids do dirs[#dirs + 1] = Engine.shell_quote(save_root .. "/" .. index .. "/e2e") end
for first = 1, #dirs, 200 do
	assert(os.execute("mkdir -p " .. table.concat(dirs, " ", first, math.min(#dirs, first + 199))))
end

local installs = {}
local sha1_cache = {}
for index, id in ipairs(ids) do
	local engine = Engine.new({ save_root = save_root .. "/" .. index, engine_version = engine_version, http = "real" })
	local folder = save_root .. "/" .. index
	engine.sys.get_save_file = function(application_id, file_name) return folder .. "/" .. application_id .. "/" .. file_name end
	-- the engine version's SHA-1 is the same for every install: computed once (by coreutils), not per session
	local real_sha1 = engine.crypt.hash_sha1
	engine.crypt.hash_sha1 = function(text)
		sha1_cache[text] = sha1_cache[text] or real_sha1(text)
		return sha1_cache[text]
	end
	local id_file = engine.sys.get_save_file("e2e", "lup-install-id")
	local ok, stored = pcall(engine.sys.load, id_file)
	if not (ok and type(stored) == "table" and stored.id) then assert(engine.sys.save(id_file, { id = id })) end
	local client = assert(lup.new({
		base_url = base_url, game = game, channel = "stable", app_id = "e2e", engine = engine.port(),
		timeout = 5, retries = 3, backoff = 0.2, log = function() end,
	}))
	local results = {}
	for _, step in ipairs(steps) do
		local result
		client[step](client, function(r) result = r end)
		engine.run()
		results[#results + 1] = { ok = result.ok, status = result.status, code = result.code, message = result.message, release_id = result.release_id, sequence = result.sequence, cohort = result.cohort }
	end
	local mounts = {}
	for _, m in ipairs(engine.mounted()) do mounts[#mounts + 1] = m.name end
	local state = engine.sys.load(engine.sys.get_save_file("e2e", "lup-" .. game .. "-stable-state"))
	installs[#installs + 1] = {
		id = client:install_id(), results = results, mounts = mounts,
		state = { sequence = state.sequence, release_id = state.release_id, rollout_salt = state.rollout_salt },
	}
end
io.write(cjson.encode({ installs = installs }), "\n")
