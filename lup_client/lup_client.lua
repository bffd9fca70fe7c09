--- lup_client: takes a channel pointer published by the LiveUpdate pipeline to mounted, verified
-- content in a Defold game.
--
-- Three calls a game makes:
--   local lup_client = require("lup_client.lup_client")
--   local client = assert(lup_client.new({ base_url = "https://cdn.example.com/", game = "space-game", channel = "stable" }))
--   client:start(function(result) ... end)    -- re-mount what earlier sessions verified
--   client:update(function(result) ... end)   -- fetch the pointer, download, verify, switch
--
-- Lua 5.1 semantics (LuaJIT 2.1 on native platforms, Lua 5.1 on HTML5). No globals are defined, no
-- call blocks: every engine call is asynchronous and every result arrives in a callback. The engine
-- APIs are reached through one table (`config.engine`, defaulting to the engine's globals) so that
-- tests can replace them; see docs/client-kit.md for what the kit checks and what it trusts.

local M = {}

M.VERSION = "1.1.0"
--- The pointer schema version this kit understands (lib/core/documents/schemas/pointer.schema.json).
-- The optional rollout block did not change it: a kit that does not know the block ignores it and
-- applies the stable release, which is what every install outside the cohort does.
M.POINTER_SCHEMA_VERSION = 1
--- Basis points in a whole: a rollout's share is 0 to 10000 of them.
M.ROLLOUT_SHARE_WHOLE = 10000
--- Version of the state table persisted with sys.save.
M.STATE_VERSION = 1
--- Largest pointer read, in bytes (the pipeline's own limit, MAX_POINTER_BYTES).
M.MAX_POINTER_BYTES = 1024 * 1024
--- Default largest archive count accepted: the schema sets none, a game needs far fewer.
M.MAX_ARCHIVES = 64

-- engine/liveupdate/src/liveupdate.h, enum Result
M.LIVEUPDATE_OK = 0
M.LIVEUPDATE_INVAL = -11

-- Error codes. Where a failure means what a pipeline code means, the pipeline's code is used
-- (lib/core/errors.ts); the others exist only on the game side (docs/client-kit.md lists them).
M.codes = {
	USAGE_INVALID = "USAGE_INVALID",                       -- pipeline: a bad argument (here: a config field)
	DOCUMENT_INVALID = "DOCUMENT_INVALID",                 -- pipeline: the pointer does not match its schema
	CHANNEL_EMPTY = "CHANNEL_EMPTY",                       -- pipeline: the channel has no release (404)
	MANIFEST_ENGINE_UNSUPPORTED = "MANIFEST_ENGINE_UNSUPPORTED", -- pipeline: the release does not list this engine
	VERIFY_MISMATCH = "VERIFY_MISMATCH",                   -- pipeline (lup verify): bytes differ from the pointer
	INTERNAL = "INTERNAL",
	POINTER_MISMATCH = "POINTER_MISMATCH",                 -- Lua only: pointer of another game or channel
	POINTER_DOWNGRADE = "POINTER_DOWNGRADE",               -- Lua only: lower sequence than the one applied
	POINTER_UNUSABLE = "POINTER_UNUSABLE",                 -- Lua only: schema-valid, but this client cannot apply it
	LOOSE_UNSUPPORTED = "LOOSE_UNSUPPORTED",               -- Lua only: loose-resource release on an engine >= 1.5
	DOWNLOAD_FAILED = "DOWNLOAD_FAILED",                   -- Lua only: HTTP failed after the retries
	MOUNT_FAILED = "MOUNT_FAILED",                         -- Lua only: liveupdate.add_mount did not report OK
	STATE_WRITE_FAILED = "STATE_WRITE_FAILED",             -- Lua only: sys.save failed
	BUSY = "BUSY",                                         -- Lua only: start/update already running
}
local C = M.codes

-- ---------------------------------------------------------------------------------------------
-- small helpers

local function err(code, message, extra)
	local e = { ok = false, code = code, message = message }
	if extra then
		for k, v in pairs(extra) do e[k] = v end
	end
	return e
end

local function copy(value)
	if type(value) ~= "table" then return value end
	local out = {}
	for k, v in pairs(value) do out[k] = copy(v) end
	return out
end

local function is_integer(v)
	return type(v) == "number" and v == math.floor(v) and v >= -9007199254740991 and v <= 9007199254740991
end

local function is_array(v)
	if type(v) ~= "table" then return false end
	local n = 0
	for _ in pairs(v) do n = n + 1 end
	for i = 1, n do
		if v[i] == nil then return false end
	end
	return true
end

local function is_id(v)
	return type(v) == "string" and #v <= 63 and v:match("^[a-z0-9][a-z0-9_.%-]*$") ~= nil
end

local function is_hex(v, len)
	return type(v) == "string" and #v == len and v:match("^[0-9a-f]+$") ~= nil
end

local function show(v)
	if type(v) == "string" then return string.format("%q", v) end
	return tostring(v)
end

local function to_hex(raw)
	return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- SHA-1 of a short string (the engine version), for games without extension-crypt. Uses Lua BitOp,
-- which Defold provides as the global `bit` on every platform (engine/script/src/script_bitop.cpp).
local function sha1_hex(bit, message)
	local band, bor, bxor, bnot, lshift, rshift, rol = bit.band, bit.bor, bit.bxor, bit.bnot, bit.lshift, bit.rshift, bit.rol
	local function add(...)
		local sum = 0
		for i = 1, select("#", ...) do sum = (sum + select(i, ...)) % 4294967296 end
		return sum
	end
	local h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
	local len = #message
	local msg = message .. "\128" .. string.rep("\0", (55 - len) % 64)
	local bits = len * 8
	local tail = ""
	for i = 7, 0, -1 do tail = tail .. string.char(math.floor(bits / 2 ^ (8 * i)) % 256) end
	msg = msg .. tail
	for chunk = 1, #msg, 64 do
		local w = {}
		for i = 0, 15 do
			local a, b, c, d = msg:byte(chunk + i * 4, chunk + i * 4 + 3)
			w[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
		end
		for i = 16, 79 do w[i] = rol(bxor(w[i - 3], w[i - 8], w[i - 14], w[i - 16]), 1) end
		local a, b, c, d, e = h0, h1, h2, h3, h4
		for i = 0, 79 do
			local f, k
			if i < 20 then f, k = bor(band(b, c), band(bnot(b), d)), 0x5A827999
			elseif i < 40 then f, k = bxor(b, c, d), 0x6ED9EBA1
			elseif i < 60 then f, k = bor(band(b, c), band(b, d), band(c, d)), 0x8F1BBCDC
			else f, k = bxor(b, c, d), 0xCA62C1D6 end
			local temp = add(rol(a, 5) % 4294967296, f % 4294967296, e, k, w[i] % 4294967296)
			e, d, c, b, a = d, c, rol(b, 30), a, temp
		end
		h0, h1, h2, h3, h4 = add(h0, a % 4294967296), add(h1, b % 4294967296), add(h2, c % 4294967296), add(h3, d % 4294967296), add(h4, e % 4294967296)
	end
	return string.format("%08x%08x%08x%08x%08x", h0, h1, h2, h3, h4)
end
M._sha1_hex = sha1_hex

local function default_bit()
	if _G.bit then return _G.bit end
	local ok, b = pcall(require, "bit")
	return ok and b or nil
end

--- FNV-1a, 32 bits, over the bytes of `text` (UTF-8 as Lua holds it), as a number 0 .. 2^32-1.
-- The same in LuaJIT and Lua 5.1 + bitop: only xor goes through `bit`; the multiplication by the
-- FNV prime 16777619 = 2^24 + 403 is split into a shift and a product below 2^41, exact in a double.
function M.fnv1a32(text, bit)
	bit = bit or default_bit()
	local bxor, lshift = bit.bxor, bit.lshift
	local h = 2166136261
	for i = 1, #text do
		h = bxor(h, text:byte(i)) % 4294967296
		h = (lshift(h, 24) % 4294967296 + h * 403) % 4294967296
	end
	return h
end

--- The cohort bucket (0 .. 9999) of an install in the rollout with this salt:
-- FNV-1a-32(salt .. ":" .. install_id) mod 10000, as the pipeline computes it (lib/core/documents/cohort.ts).
function M.cohort_bucket(salt, install_id, bit)
	return M.fnv1a32(salt .. ":" .. install_id, bit) % M.ROLLOUT_SHARE_WHOLE
end

--- Whether an install that does not have a rollout's candidate takes it now: active and bucket < share.
function M.takes_candidate(rollout, install_id, bit)
	return rollout.state == "active" and M.cohort_bucket(rollout.salt, install_id, bit) < rollout.share
end

-- ---------------------------------------------------------------------------------------------
-- the pointer: what the client relies on, checked field by field (the full definition is the JSON
-- Schema; the specs check that fixtures this function accepts and refuses match it)

-- The fields of a release the client relies on, in the pointer (prefix "") or its rollout block
-- (prefix "rollout."); nil when usable.
local function check_release(p, prefix, bad, game, max_archives)
	if not is_array(p.engineVersions) then return bad(prefix .. "engineVersions", "an array of SHA-1 hex digests", p.engineVersions) end
	for i, v in ipairs(p.engineVersions) do
		if not is_hex(v, 40) then return bad(prefix .. "engineVersions[" .. (i - 1) .. "]", "40 lowercase hex characters (SHA-1 of an engine version)", v) end
	end
	if type(p.manifest) ~= "table" then return bad(prefix .. "manifest", "an object", p.manifest) end
	if not is_hex(p.manifest.sha256, 64) then return bad(prefix .. "manifest.sha256", "64 lowercase hex characters (SHA-256)", p.manifest.sha256) end
	if type(p.resourcesBase) ~= "table" or type(p.resourcesBase.path) ~= "string" then
		return bad(prefix .. "resourcesBase.path", "content/<game>/resources/", p.resourcesBase and p.resourcesBase.path)
	end
	if not is_array(p.archives) then return bad(prefix .. "archives", "an array of archives in mount order", p.archives) end
	if #p.archives > max_archives then
		return err(C.POINTER_UNUSABLE, "The channel pointer lists more archives than this client accepts.", { field = prefix .. "archives", expected = "at most " .. max_archives .. " archives", actual = tostring(#p.archives) .. " archives" })
	end
	local seen = {}
	for i, a in ipairs(p.archives) do
		local at = prefix .. "archives[" .. (i - 1) .. "]"
		if type(a) ~= "table" then return bad(at, "an object", a) end
		if type(a.name) ~= "string" or not a.name:match("^[A-Za-z0-9][A-Za-z0-9._%-]*%.zip$") then return bad(at .. ".name", "a file name ending in .zip", a.name) end
		if not is_hex(a.sha256, 64) then return bad(at .. ".sha256", "64 lowercase hex characters (SHA-256)", a.sha256) end
		if not is_integer(a.sizeBytes) or a.sizeBytes < 0 then return bad(at .. ".sizeBytes", "a byte count", a.sizeBytes) end
		if not is_integer(a.priority) then return bad(at .. ".priority", "an integer mount priority (higher wins)", a.priority) end
		local path = "content/" .. game .. "/archives/" .. a.sha256 .. ".zip"
		if a.path ~= path then return bad(at .. ".path", path, a.path) end
		if a.priority < 0 then
			-- liveupdate.add_mount raises "Priority needs to be a positive number" (script_liveupdate.cpp)
			return err(C.POINTER_UNUSABLE, "The channel pointer gives an archive a negative mount priority; liveupdate.add_mount refuses those.", { field = at .. ".priority", expected = "an integer >= 0", actual = tostring(a.priority) })
		end
		if seen[a.sha256] then
			return err(C.POINTER_UNUSABLE, "The channel pointer lists the same archive twice.", { field = at .. ".sha256", expected = "each archive once", actual = a.sha256 })
		end
		seen[a.sha256] = true
	end
	return nil
end

--- Check a decoded pointer. Returns nil when usable, else an error naming the field.
-- @param p the decoded pointer
-- @param limits { max_archives = number }
function M.check_pointer(p, limits)
	local max_archives = (limits and limits.max_archives) or M.MAX_ARCHIVES
	local function bad(field, expected, actual)
		return err(C.DOCUMENT_INVALID, "The channel pointer's " .. field .. " is not valid.", { field = field, expected = expected, actual = show(actual) })
	end
	if type(p) ~= "table" then return bad("(document)", "a JSON object", type(p)) end
	if p.schemaVersion ~= M.POINTER_SCHEMA_VERSION then
		return bad("schemaVersion", tostring(M.POINTER_SCHEMA_VERSION) .. " (the pointer schema this kit understands; update lup_client for a newer one)", p.schemaVersion)
	end
	for _, field in ipairs({ "game", "channel", "releaseId" }) do
		if not is_id(p[field]) then return bad(field, "a lowercase id (letters, digits, - _ .; at most 63 characters)", p[field]) end
	end
	if not is_integer(p.sequence) or p.sequence < 1 then return bad("sequence", "a positive integer", p.sequence) end
	local problem = check_release(p, "", bad, p.game, max_archives)
	if problem then return problem end
	if not is_array(p.history) or #p.history < 1 then return bad("history", "the last flips, newest first (at least one)", p.history) end
	if p.rollout ~= nil then
		local r = p.rollout
		if type(r) ~= "table" or is_array(r) and next(r) ~= nil then return bad("rollout", "an object", r) end
		if not is_id(r.releaseId) then return bad("rollout.releaseId", "a lowercase id (letters, digits, - _ .; at most 63 characters)", r.releaseId) end
		if not is_hex(r.salt, 32) then return bad("rollout.salt", "32 lowercase hex characters, unique to this rollout", r.salt) end
		if not is_integer(r.share) or r.share < 0 or r.share > M.ROLLOUT_SHARE_WHOLE then return bad("rollout.share", "the share of installs in basis points (0 to 10000)", r.share) end
		if r.state ~= "active" and r.state ~= "halted" then return bad("rollout.state", 'one of "active", "halted"', r.state) end
		problem = check_release(r, "rollout.", bad, p.game, max_archives)
		if problem then return problem end
	end
	return nil
end

-- ---------------------------------------------------------------------------------------------
-- the client

local Client = {}
Client.__index = Client

local function default_engine()
	local g = _G
	return {
		http = g.http, sys = g.sys, liveupdate = g.liveupdate, json = g.json, crypt = g.crypt,
		timer = g.timer, hash = g.hash, bit = g.bit, io = g.io, os = g.os,
	}
end

--- Create a client for one game and channel.
-- @param config table:
--   base_url    (string, required) CDN root, e.g. "https://d111.cloudfront.net/"; pointer paths are resolved against it
--   game        (string, required) the game id of the pointer
--   channel     (string, required) the channel id
--   app_id      (string) sys.get_save_file application id. Default "lup"
--   app_version (string) your build's version; content verified under another app version is dropped at start. Default none (never dropped for this reason)
--   timeout     (number) seconds per HTTP request. Default 30
--   retries     (integer) extra attempts after a status 0, 408, 429 or 5xx. Default 4
--   backoff     (number) seconds before the first retry, doubled each time. Default 1
--   max_archives (integer) largest archive count accepted. Default 64
--   log         (function(level, message)) where the kit logs ("info", "warning", "error"). Default print
--   engine      (table) the engine APIs; tests replace them. Default the engine's globals
-- @return client, or nil and an error whose `errors` lists every bad field
function M.new(config)
	local problems = {}
	local function bad(field, expected, actual)
		problems[#problems + 1] = err(C.USAGE_INVALID, "lup_client.new: config." .. field .. " is not valid.", { field = "config." .. field, expected = expected, actual = show(actual) })
	end
	if type(config) ~= "table" then
		local e = err(C.USAGE_INVALID, "lup_client.new needs a config table.", { field = "config", expected = "a table", actual = type(config) })
		e.errors = { e }
		return nil, e
	end
	if type(config.base_url) ~= "string" or not config.base_url:match("^https?://[^/]+") then bad("base_url", "an http:// or https:// URL of the CDN root", config.base_url) end
	if not is_id(config.game) then bad("game", "a lowercase game id", config.game) end
	if not is_id(config.channel) then bad("channel", "a lowercase channel id", config.channel) end
	if config.app_id ~= nil and (type(config.app_id) ~= "string" or config.app_id == "") then bad("app_id", "a non-empty string", config.app_id) end
	if config.app_version ~= nil and type(config.app_version) ~= "string" then bad("app_version", "a string", config.app_version) end
	if config.timeout ~= nil and (type(config.timeout) ~= "number" or config.timeout <= 0) then bad("timeout", "a number of seconds > 0", config.timeout) end
	if config.retries ~= nil and (not is_integer(config.retries) or config.retries < 0) then bad("retries", "an integer >= 0", config.retries) end
	if config.backoff ~= nil and (type(config.backoff) ~= "number" or config.backoff < 0) then bad("backoff", "a number of seconds >= 0", config.backoff) end
	if config.max_archives ~= nil and (not is_integer(config.max_archives) or config.max_archives < 1) then bad("max_archives", "an integer >= 1", config.max_archives) end
	if config.log ~= nil and type(config.log) ~= "function" then bad("log", "a function(level, message)", config.log) end
	if config.engine ~= nil and type(config.engine) ~= "table" then bad("engine", "a table of engine APIs", config.engine) end
	local engine = config.engine or default_engine()
	for _, name in ipairs({ "http", "sys", "liveupdate", "json", "timer" }) do
		if type(engine[name]) ~= "table" then bad("engine." .. name, "the engine's " .. name .. " module", engine[name]) end
	end
	if #problems > 0 then
		local first = problems[1]
		local e = err(first.code, #problems == 1 and first.message or (first.message .. " (" .. (#problems - 1) .. " more problem(s))"), { field = first.field, expected = first.expected, actual = first.actual })
		e.errors = problems
		return nil, e
	end

	local base = config.base_url
	if base:sub(-1) ~= "/" then base = base .. "/" end
	local self = setmetatable({}, Client)
	self._engine = engine
	self._io = engine.io or io
	self._os = engine.os or os
	self._base_url = base
	self._game = config.game
	self._channel = config.channel
	self._app_id = config.app_id or "lup"
	self._app_version = config.app_version
	self._timeout = config.timeout or 30
	self._retries = config.retries or 4
	self._backoff = config.backoff or 1
	self._max_archives = config.max_archives or M.MAX_ARCHIVES
	self._log = config.log or function(level, message) print("lup_client " .. level .. ": " .. message) end
	self._prefix = "lup-" .. config.game .. "-" .. config.channel .. "-"
	self._busy = false
	self._warned_crypt = false
	return self
end

function Client:_save_path(file)
	return self._engine.sys.get_save_file(self._app_id, file)
end

function Client:_later(fn)
	self._engine.timer.delay(0, false, function() fn() end)
end

-- The running engine: its version string and the SHA-1 the engine itself compares with a manifest's
-- engine_versions (VerifyManifestSupportedEngineVersion hashes engine_info.m_Version; version_sha1
-- is the engine's commit, not that digest).
function Client:_engine_info()
	local info = self._engine.sys.get_engine_info()
	local version = info.version or ""
	local digest
	local crypt = self._engine.crypt
	if crypt and crypt.hash_sha1 then
		digest = to_hex(crypt.hash_sha1(version))
	else
		digest = sha1_hex(self._engine.bit or _G.bit, version)
	end
	local major, minor = version:match("^(%d+)%.(%d+)")
	return { version = version, digest = digest, major = tonumber(major) or 0, minor = tonumber(minor) or 0 }
end

-- ---- persisted state (sys.save / sys.load; paths relative to the save folder, #9664) -----------

function Client:_state_file()
	return self:_save_path(self._prefix .. "state")
end

function Client:_load_state()
	local ok, loaded = pcall(self._engine.sys.load, self:_state_file())
	if not ok or type(loaded) ~= "table" or loaded.state_version ~= M.STATE_VERSION then
		return { state_version = M.STATE_VERSION, game = self._game, channel = self._channel, archives = {}, files = {} }
	end
	loaded.archives = loaded.archives or {}
	loaded.files = loaded.files or {}
	return loaded
end

function Client:_save_state(state)
	local ok, saved = pcall(self._engine.sys.save, self:_state_file(), state)
	if ok and saved then return nil end
	return err(C.STATE_WRITE_FAILED, "sys.save could not write the client state; the previous state stays.", { actual = tostring(saved) })
end

--- The install id: random, created on first use and kept in the save folder (for staged rollouts).
function Client:install_id()
	if self._install_id then return self._install_id end
	local path = self:_save_path("lup-install-id")
	local ok, loaded = pcall(self._engine.sys.load, path)
	if ok and type(loaded) == "table" and is_hex(loaded.id, 32) then
		self._install_id = loaded.id
		return loaded.id
	end
	math.randomseed(self._os.time() + math.floor((self._os.clock() * 1000000) % 1000000) + (tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0) % 1000000)
	local parts = {}
	for i = 1, 8 do parts[i] = string.format("%04x", math.random(0, 65535)) end
	local id = table.concat(parts)
	pcall(self._engine.sys.save, path, { id = id })
	self._install_id = id
	return id
end

--- A copy of the persisted state: sequence, release_id, archives (name, sha256, size, priority, file, mount).
function Client:state()
	local s = self:_load_state()
	return { sequence = s.sequence, release_id = s.release_id, rollout_salt = s.rollout_salt, archives = copy(s.archives), engine_version = s.engine_version, app_version = s.app_version, loose = s.loose }
end

-- ---- files ---------------------------------------------------------------------------------

function Client:_file_size(path)
	local f = self._io.open(path, "rb")
	if not f then return nil end
	local size = f:seek("end")
	f:close()
	return size
end

function Client:_remove(path)
	local ok = self._os.remove(path)
	return ok ~= nil or self:_file_size(path) == nil
end

-- SHA-256 and size of a file. Without extension-crypt only the size is known (digest nil).
function Client:_digest(path)
	local f = self._io.open(path, "rb")
	if not f then return nil, nil end
	local data = f:read("*a")
	f:close()
	local crypt = self._engine.crypt
	if crypt and crypt.hash_sha256 then
		return #data, to_hex(crypt.hash_sha256(data))
	end
	if not self._warned_crypt then
		self._warned_crypt = true
		self._log("warning", "extension-crypt is not in this game: archives are checked by size only, not by SHA-256. Add https://github.com/defold/extension-crypt to [project] dependencies.")
	end
	return #data, nil
end

-- ---- mounts (liveupdate.add_mount / remove_mount / get_mounts) --------------------------------

local function mount_name(sha256, priority)
	-- Short (the engine refuses names of 64 characters or more, resource_mounts.cpp MAX_NAME_LENGTH),
	-- never starting with "_" (reserved for base mounts), one per archive and priority.
	return "lup_" .. sha256:sub(1, 16) .. "_" .. priority
end
M._mount_name = mount_name

-- get_mounts() reports names as hashes since 2023 (script_liveupdate.cpp pushes m_NameHash);
-- older engines give the string. Compare both ways.
function Client:_mounted_names()
	local by = {}
	local hash = self._engine.hash
	local ok, mounts = pcall(self._engine.liveupdate.get_mounts)
	if not ok or type(mounts) ~= "table" then return by, {} end
	for _, m in ipairs(mounts) do by[tostring(m.name)] = m end
	return by, mounts, function(name)
		local m = by[tostring(hash and hash(name) or name)] or by[name]
		return m
	end
end

function Client:_find_mount(name)
	local _, _, find = self:_mounted_names()
	return find and find(name) or nil
end

-- Mount `entries` (each { mount, uri, priority }); calls back with nil, or an error after removing
-- whatever this call mounted.
function Client:_mount_all(entries, callback)
	local lu = self._engine.liveupdate
	local pending = #entries
	local failed
	local mounted = {}
	if pending == 0 then return self:_later(function() callback(nil) end) end
	local function finish()
		if failed then
			for _, e in ipairs(mounted) do pcall(lu.remove_mount, e.mount) end
			return callback(failed)
		end
		-- confirm with the engine's own list: every mount present with its priority
		for _, e in ipairs(entries) do
			local m = self:_find_mount(e.mount)
			if not m or m.priority ~= e.priority then
				for _, x in ipairs(mounted) do pcall(lu.remove_mount, x.mount) end
				return callback(err(C.MOUNT_FAILED, "liveupdate.get_mounts does not list a mount that reported OK.", { field = e.mount, expected = "mounted at priority " .. e.priority, actual = m and ("priority " .. tostring(m.priority)) or "absent" }))
			end
		end
		callback(nil)
	end
	for _, e in ipairs(entries) do
		local ok, res = pcall(lu.add_mount, e.mount, e.uri, e.priority, function(_, _, _, result)
			if result == M.LIVEUPDATE_OK then
				mounted[#mounted + 1] = e
			elseif not failed then
				failed = err(C.MOUNT_FAILED, "liveupdate.add_mount failed for " .. e.uri .. ".", { field = e.mount, expected = "LIVEUPDATE_OK (0)", actual = tostring(result) })
			end
			pending = pending - 1
			if pending == 0 then finish() end
		end)
		if not ok or res ~= M.LIVEUPDATE_OK then
			-- refused synchronously: no callback will come (script_liveupdate.cpp destroys it)
			if not failed then
				failed = err(C.MOUNT_FAILED, "liveupdate.add_mount refused " .. e.uri .. ".", { field = e.mount, expected = "LIVEUPDATE_OK (0)", actual = tostring(res) })
			end
			pending = pending - 1
			if pending == 0 then self:_later(finish) end
		end
	end
end

function Client:_entry_of(archive)
	return { mount = archive.mount, uri = "zip:" .. self:_save_path(archive.file), priority = archive.priority }
end

-- Remove mounts of ours (by file prefix in the uri) that `keep` does not name: stale mounts left by
-- an earlier session on engines that still re-mount at start (liveupdate.mounts, #10202).
function Client:_remove_stale(keep)
	local lu = self._engine.liveupdate
	local _, mounts = self:_mounted_names()
	local hash = self._engine.hash
	local removed = {}
	for _, m in ipairs(mounts or {}) do
		local sha = type(m.uri) == "string" and m.uri:match(self._prefix:gsub("%p", "%%%0") .. "(%x+)%.zip$")
		if sha and is_integer(m.priority) then
			local name = mount_name(sha, m.priority)
			local same = tostring(hash and hash(name) or name) == tostring(m.name) or m.name == name
			if same and not keep[name] then
				pcall(lu.remove_mount, name)
				removed[#removed + 1] = name
			end
		end
	end
	return removed
end

-- ---- HTTP with retries -----------------------------------------------------------------------

local function retryable(status)
	return status == 0 or status == nil or status == 408 or status == 429 or (status >= 500 and status <= 599)
end

-- GET `url`; `options.path` saves to that file (the engine writes it only on status 200).
-- callback(response) on 200, else callback(nil, error).
function Client:_get(url, options, callback)
	local attempt = 0
	local delay = self._backoff
	local function try()
		attempt = attempt + 1
		local request_options = { timeout = self._timeout }
		if options.path then
			request_options.path = options.path
			request_options.report_progress = options.on_progress ~= nil
		end
		self._engine.http.request(url, "GET", function(_, _, response)
			if response.status == nil and response.bytes_total ~= nil then
				-- a progress message (report_progress); the final response carries the status
				if options.on_progress then options.on_progress(response.bytes_received or 0, response.bytes_total) end
				return
			end
			local status = response.status or 0
			if status == 200 and not response.error then return callback(response) end
			if status == 404 then
				return callback(nil, err(C.CHANNEL_EMPTY, "Nothing is published at " .. url .. ".", { url = url, expected = "status 200", actual = "status 404" }))
			end
			if retryable(status) and attempt <= self._retries then
				self._log("warning", "GET " .. url .. " answered " .. status .. (response.error and (" (" .. tostring(response.error) .. ")") or "") .. "; retry " .. attempt .. " of " .. self._retries .. " in " .. delay .. " s")
				local wait = delay
				delay = delay * 2
				self._engine.timer.delay(wait, false, function() try() end)
				return
			end
			callback(nil, err(C.DOWNLOAD_FAILED, "GET " .. url .. " failed" .. (attempt > 1 and (" after " .. attempt .. " attempts") or "") .. ".", { url = url, expected = "status 200", actual = "status " .. status .. (response.error and (" (" .. tostring(response.error) .. ")") or "") }))
		end, nil, nil, request_options)
	end
	try()
end

-- ---- start: re-mount what earlier sessions verified -------------------------------------------

--- Re-mount the content verified in earlier sessions (mounts last one session since 2026).
-- callback(result): { ok = true, status = "mounted" | "empty" | "dropped", sequence, release_id, mounted = {names}, reason? }
-- or { ok = false, code, message, ... }. Content that no longer fits this engine or app build, or whose
-- files are gone or changed size, is dropped (its files deleted) and the reason given.
function Client:start(callback)
	assert(type(callback) == "function", "lup_client: start needs a callback")
	if self._busy then return self:_later(function() callback(err(C.BUSY, "lup_client: start or update is already running.")) end) end
	self._busy = true
	local function done(result)
		self._busy = false
		callback(result)
	end
	local state = self:_load_state()
	-- interrupted downloads from an earlier session are never mounted
	self:_remove_unreferenced(state)
	local reason
	local engine = self:_engine_info()
	if #state.archives > 0 then
		local supported = false
		for _, d in ipairs(state.engine_versions or {}) do if d == engine.digest then supported = true end end
		if not supported then
			reason = "release " .. tostring(state.release_id) .. " does not support engine " .. engine.version .. " (SHA-1 " .. engine.digest .. ")"
		elseif self._app_version ~= nil and state.app_version ~= self._app_version then
			reason = "content was verified under app version " .. tostring(state.app_version) .. ", this is " .. self._app_version
		else
			for _, a in ipairs(state.archives) do
				local size = self:_file_size(self:_save_path(a.file))
				if size ~= a.size then
					reason = a.file .. " is " .. (size and (size .. " bytes") or "missing") .. ", expected " .. a.size .. " bytes"
					break
				end
			end
		end
	end
	if reason then
		self._log("warning", "dropping persisted content: " .. reason)
		state.archives = {}
		self:_remove_unreferenced(state)
		self:_remove_stale({})
		local write_error = self:_save_state(state)
		return self:_later(function() done(write_error or { ok = true, status = "dropped", reason = reason, sequence = state.sequence, mounted = {} }) end)
	end
	local keep, entries = {}, {}
	for _, a in ipairs(state.archives) do
		keep[a.mount] = true
		if not self:_find_mount(a.mount) then entries[#entries + 1] = self:_entry_of(a) end
	end
	self:_remove_stale(keep)
	if #state.archives == 0 then
		return self:_later(function() done({ ok = true, status = "empty", sequence = state.sequence, release_id = state.release_id, mounted = {} }) end)
	end
	self:_mount_all(entries, function(mount_error)
		if mount_error then
			self._log("error", "re-mount failed: " .. mount_error.message)
			-- the files cannot be mounted; drop them so that the next update fetches them again
			state.archives = {}
			self:_remove_unreferenced(state)
			self:_save_state(state)
			return done(mount_error)
		end
		local names = {}
		for _, a in ipairs(state.archives) do names[#names + 1] = a.mount end
		done({ ok = true, status = "mounted", sequence = state.sequence, release_id = state.release_id, mounted = names })
	end)
end

-- Delete every file the kit created that the state's archives do not reference.
function Client:_remove_unreferenced(state)
	local referenced = {}
	for _, a in ipairs(state.archives) do referenced[a.file] = true end
	local left = {}
	for _, file in ipairs(state.files) do
		if not referenced[file] then
			if not self:_remove(self:_save_path(file)) then left[#left + 1] = file end
		end
	end
	for file in pairs(referenced) do left[#left + 1] = file end
	table.sort(left)
	state.files = left
end

-- ---- update: pointer → download → verify → switch --------------------------------------------

--- Check the channel for a newer release and apply it.
-- callback(result): { ok = true, status = "updated" | "up_to_date" | "loose", sequence, release_id, mounted = {names}, downloaded_bytes }
-- or { ok = false, code, message, url?, field?, expected?, actual? }; on failure the previous content stays mounted and persisted.
-- on_progress(p) (optional): { archive = name, index, count, bytes, total, overall_bytes, overall_total } while downloading.
function Client:update(callback, on_progress)
	assert(type(callback) == "function", "lup_client: update needs a callback")
	if self._busy then return self:_later(function() callback(err(C.BUSY, "lup_client: start or update is already running.")) end) end
	self._busy = true
	local function done(result)
		self._busy = false
		if not result.ok then self._log("error", result.code .. ": " .. result.message) end
		callback(result)
	end
	local url = self._base_url .. "channels/" .. self._game .. "/" .. self._channel .. ".json"
	self:_get(url, {}, function(response, get_error)
		if get_error then return done(get_error) end
		local body = response.response or ""
		if #body > M.MAX_POINTER_BYTES then
			return done(err(C.DOCUMENT_INVALID, "The channel pointer is larger than any the pipeline writes; it is refused unread.", { url = url, expected = "at most " .. M.MAX_POINTER_BYTES .. " bytes", actual = #body .. " bytes" }))
		end
		local ok, pointer = pcall(self._engine.json.decode, body)
		if not ok then
			return done(err(C.DOCUMENT_INVALID, "The channel pointer is not JSON.", { url = url, expected = "a JSON channel pointer", actual = "unparseable JSON" }))
		end
		local invalid = M.check_pointer(pointer, { max_archives = self._max_archives })
		if invalid then
			invalid.url = url
			return done(invalid)
		end
		self:_apply(url, pointer, on_progress, done)
	end)
end

-- The release this install takes from a pointer with a rollout block: the candidate when the
-- rollout is active and the install's bucket is below the share, or when it already applied this
-- rollout's candidate (halted: those installs keep it); the stable release otherwise. Returns the
-- pointer as this install sees it (the candidate's fields in place of the stable ones) and what it
-- chose ("candidate" or "stable"), or the pointer itself without a rollout.
function Client:_choose(p, state)
	local r = p.rollout
	if r == nil then return p, nil end
	local has = state.release_id == r.releaseId and state.rollout_salt == r.salt
	if not (has or M.takes_candidate(r, self:install_id(), self._engine.bit)) then return p, "stable" end
	local view = {}
	for k, v in pairs(p) do view[k] = v end
	view.releaseId, view.manifest, view.archives, view.resourcesBase, view.engineVersions = r.releaseId, r.manifest, r.archives, r.resourcesBase, r.engineVersions
	-- engines <= 1.4 read the candidate's manifest from content/ (the stable path beside the pointer is the stable release's)
	view.stableManifest = { path = r.manifest.path, url = r.manifest.url }
	view._rollout_salt = r.salt
	return view, "candidate"
end

function Client:_apply(url, pointer, on_progress, done)
	local state = self:_load_state()
	for _, field in ipairs({ "game", "channel" }) do
		local want = field == "game" and self._game or self._channel
		if pointer[field] ~= want then
			return done(err(C.POINTER_MISMATCH, "The pointer at " .. url .. " is for another " .. field .. ".", { url = url, field = field, expected = want, actual = pointer[field] }))
		end
	end
	local p, cohort = self:_choose(pointer, state)
	if cohort then
		local finish = done
		done = function(result)
			if result.ok then result.cohort = cohort end
			finish(result)
		end
	end
	local applied = #state.archives > 0 or state.loose
	if state.sequence and p.sequence < state.sequence then
		-- a replayed or cached old pointer: never go backwards (docs/design.md, client kit)
		return done(err(C.POINTER_DOWNGRADE, "The pointer's sequence is lower than the one this game applied; it is ignored.", { url = url, field = "sequence", expected = "at least " .. state.sequence, actual = tostring(p.sequence) }))
	end
	if state.sequence == p.sequence and applied then
		return done({ ok = true, status = "up_to_date", sequence = p.sequence, release_id = p.releaseId, mounted = self:_names(state) })
	end
	local engine = self:_engine_info()
	local supported = false
	for _, d in ipairs(p.engineVersions) do if d == engine.digest then supported = true end end
	if not supported then
		return done(err(C.MANIFEST_ENGINE_UNSUPPORTED, "Release " .. p.releaseId .. " was not built for engine " .. engine.version .. "; it is not applied.", { url = url, field = "engineVersions", expected = "SHA-1 of \"" .. engine.version .. "\" (" .. engine.digest .. ")", actual = table.concat(p.engineVersions, ", ") }))
	end
	if #p.archives == 0 then return self:_apply_loose(url, p, state, engine, done) end

	-- what to download: archives not verified earlier
	local have = {}
	for _, a in ipairs(state.archives) do have[a.sha256] = a end
	local target, todo, overall_total = {}, {}, 0
	for i, a in ipairs(p.archives) do
		local file = self._prefix .. a.sha256 .. ".zip"
		target[i] = { name = a.name, sha256 = a.sha256, size = a.sizeBytes, priority = a.priority, file = file, mount = mount_name(a.sha256, a.priority), url = self._base_url .. a.path }
		if not (have[a.sha256] and self:_file_size(self:_save_path(file)) == a.sizeBytes) then
			todo[#todo + 1] = target[i]
			overall_total = overall_total + a.sizeBytes
		end
	end
	local overall_bytes, downloaded = 0, 0
	local index = 0
	local function next_download()
		index = index + 1
		local a = todo[index]
		if not a then return self:_switch(p, state, target, engine, downloaded, done) end
		local part = a.file .. ".part"
		-- journal the file before it exists, so that a crash leaves nothing unknown behind
		local files = {}
		for _, f in ipairs(state.files) do if f ~= part then files[#files + 1] = f end end
		files[#files + 1] = part
		state.files = files
		local write_error = self:_save_state(state)
		if write_error then return done(write_error) end
		local part_path = self:_save_path(part)
		self:_remove(part_path)
		self:_get(a.url, {
			path = part_path,
			on_progress = on_progress and function(bytes, total)
				on_progress({ archive = a.name, index = index, count = #todo, bytes = bytes, total = total, overall_bytes = overall_bytes + bytes, overall_total = overall_total })
			end,
		}, function(_, get_error)
			-- a failed download is deleted and leaves the journal; nothing half-fetched stays behind
			local function discard()
				self:_remove(part_path)
				local kept = {}
				for _, f in ipairs(state.files) do if f ~= part then kept[#kept + 1] = f end end
				state.files = kept
				self:_save_state(state)
			end
			if get_error then
				discard()
				return done(get_error)
			end
			local size, digest = self:_digest(part_path)
			if size ~= a.size or (digest ~= nil and digest ~= a.sha256) then
				discard()
				local field = size ~= a.size and "sizeBytes" or "sha256"
				return done(err(C.VERIFY_MISMATCH, "Archive " .. a.name .. " from " .. a.url .. " does not match the pointer; it was deleted and not mounted.", {
					url = a.url, field = "archives[" .. (index - 1) .. "]." .. field,
					expected = field == "sizeBytes" and (a.size .. " bytes") or a.sha256,
					actual = field == "sizeBytes" and (tostring(size) .. " bytes") or digest,
				}))
			end
			local final_path = self:_save_path(a.file)
			self:_remove(final_path)
			local renamed, rename_error = self._os.rename(part_path, final_path)
			if not renamed then
				discard()
				return done(err(C.INTERNAL, "Could not move the verified archive into place.", { url = a.url, actual = tostring(rename_error) }))
			end
			local list = {}
			for _, f in ipairs(state.files) do if f ~= part then list[#list + 1] = f end end
			list[#list + 1] = a.file
			state.files = list
			self:_save_state(state)
			overall_bytes = overall_bytes + a.size
			downloaded = downloaded + a.size
			if on_progress then on_progress({ archive = a.name, index = index, count = #todo, bytes = a.size, total = a.size, overall_bytes = overall_bytes, overall_total = overall_total }) end
			next_download()
		end)
	end
	next_download()
end

function Client:_names(state)
	local names = {}
	for _, a in ipairs(state.archives) do names[#names + 1] = a.mount end
	return names
end

-- Mount all new, wait for every callback, then unmount the old, then persist — only after every mount
-- succeeded. A failure leaves the previous content mounted and the previous state persisted.
function Client:_switch(p, state, target, engine, downloaded, done)
	local previous = {}
	for _, a in ipairs(state.archives) do previous[a.mount] = true end
	local keep, entries = {}, {}
	for _, a in ipairs(target) do
		keep[a.mount] = true
		if not self:_find_mount(a.mount) then entries[#entries + 1] = self:_entry_of(a) end
	end
	self:_mount_all(entries, function(mount_error)
		if mount_error then
			-- the new files stay journalled in state.files; the cleanup below deletes them
			self:_remove_unreferenced(state)
			self:_save_state(state)
			return done(mount_error)
		end
		local lu = self._engine.liveupdate
		for name in pairs(previous) do
			if not keep[name] then pcall(lu.remove_mount, name) end
		end
		self:_remove_stale(keep)
		local archives = {}
		for i, a in ipairs(target) do archives[i] = { name = a.name, sha256 = a.sha256, size = a.size, priority = a.priority, file = a.file, mount = a.mount } end
		local files = copy(state.files)
		local next_state = {
			state_version = M.STATE_VERSION, game = self._game, channel = self._channel,
			sequence = p.sequence, release_id = p.releaseId, rollout_salt = p._rollout_salt, engine_versions = copy(p.engineVersions),
			engine_version = engine.version, app_version = self._app_version, archives = archives, files = files,
		}
		local write_error = self:_save_state(next_state)
		if write_error then return done(write_error) end
		self:_remove_unreferenced(next_state)
		self:_save_state(next_state)
		done({ ok = true, status = "updated", sequence = p.sequence, release_id = p.releaseId, previous_sequence = state.sequence, mounted = self:_names(next_state), downloaded_bytes = downloaded })
	end)
end

-- Loose-resource releases (engines <= 1.4 fetch resources one by one: collectionproxy.missing_resources
-- then resource.store_resource, which verifies each resource's hash in the engine). Engines 1.5 and
-- later mount zip archives; a loose folder served by hex digest is not the layout a "file:" mount reads.
function Client:_apply_loose(url, p, state, engine, done)
	if engine.major > 1 or (engine.major == 1 and engine.minor >= 5) then
		return done(err(C.LOOSE_UNSUPPORTED, "Release " .. p.releaseId .. " is loose resources; engine " .. engine.version .. " mounts zip archives. Publish zip archives for engines 1.5 and later.", { url = url, field = "archives", expected = "at least one zip archive", actual = "0 archives" }))
	end
	local next_state = copy(state)
	next_state.sequence, next_state.release_id, next_state.loose, next_state.rollout_salt = p.sequence, p.releaseId, true, p._rollout_salt
	next_state.engine_versions, next_state.engine_version, next_state.app_version = copy(p.engineVersions), engine.version, self._app_version
	local write_error = self:_save_state(next_state)
	if write_error then return done(write_error) end
	done({ ok = true, status = "loose", sequence = p.sequence, release_id = p.releaseId, mounted = {}, resources_base = self._base_url .. p.resourcesBase.path, manifest = p.stableManifest and (self._base_url .. p.stableManifest.path) or nil })
end

return M
