--- One app session of a game using lup_client, for the end-to-end test (test/client-kit/e2e.test.ts):
-- a fresh engine (mounts last one session) over a persistent save folder, http.request doing real
-- HTTP with LuaSocket, crypt.hash_sha256 a real SHA-256 (coreutils sha256sum).
--
--   lua driver.lua <cdn base url> <save root> <engine version> <game> <step>...    (steps: start, update)
--
-- Prints one JSON line: every step's result, the mounts at the end (with the SHA-256 of each mounted
-- file) and the persisted state.
package.path = "./?.lua;../?.lua;" .. package.path

local cjson = require("cjson")
local Engine = require("spec.support.engine")
local lup = require("lup_client.lup_client")

local base_url, save_root, engine_version, game = arg[1], arg[2], arg[3], arg[4]
local engine = Engine.new({ save_root = save_root, engine_version = engine_version, http = "real" })
local client = assert(lup.new({
	base_url = base_url, game = game, channel = "stable", app_id = "e2e", engine = engine.port(),
	timeout = 5, retries = 3, backoff = 0.2, log = function(level, message) engine.log[#engine.log + 1] = level .. ": " .. message end,
}))

local results = {}
for i = 5, #arg do
	local step = arg[i]
	local result
	client[step](client, function(r) result = r end)
	engine.run()
	results[#results + 1] = { step = step, result = result }
end

local mounts = {}
for _, m in ipairs(engine.mounted()) do
	local raw = Engine.coreutils_digest("sha256sum", m.bytes)
	mounts[#mounts + 1] = { name = m.name, uri = m.uri, priority = m.priority, sha256 = (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end)) }
end
local state = engine.sys.load(engine.sys.get_save_file("e2e", "lup-" .. game .. "-stable-state"))
io.write(cjson.encode({ results = results, mounts = mounts, state = state, log = engine.log, requests = #engine.requests }), "\n")
