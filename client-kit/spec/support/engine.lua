--- Faithful stubs of the Defold engine APIs the client kit calls, for busted specs and the
-- end-to-end driver. Each stub follows the engine source or manual cited beside it; where the
-- engine's behaviour is not documented, the choice is said.
--
-- Everything asynchronous in the engine is asynchronous here: callbacks run from `engine:run()`,
-- never inside the call that scheduled them, in order of a virtual clock (timer delays advance it;
-- nothing sleeps).

local cjson = require("cjson")

local E = {}

-- engine/liveupdate/src/liveupdate.h, enum Result
E.LIVEUPDATE = {
	OK = 0, INVALID_HEADER = -1, MEM_ERROR = -2, INVALID_RESOURCE = -3, VERSION_MISMATCH = -4,
	ENGINE_VERSION_MISMATCH = -5, SIGNATURE_MISMATCH = -6, SCHEME_MISMATCH = -7,
	BUNDLED_RESOURCE_MISMATCH = -8, FORMAT_ERROR = -9, IO_ERROR = -10, INVAL = -11,
	NOT_INITIALIZED = -12, UNKNOWN = -1000,
}

local function shell_quote(s)
	return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function read_file(path)
	local f = io.open(path, "rb")
	if not f then return nil end
	local data = f:read("*a")
	f:close()
	return data
end

local function write_file(path, data)
	local f, open_error = io.open(path, "wb")
	if not f then return nil, open_error end
	f:write(data)
	f:close()
	return true
end

-- A digest of `data` by a real implementation: coreutils sha256sum / sha1sum over a temporary file.
-- Returns the raw bytes, as defold/extension-crypt's crypt.hash_sha256 does (crypt.cpp pushes the
-- 32-byte digest with lua_pushlstring).
local function coreutils_digest(tool, data)
	local tmp = os.tmpname()
	assert(write_file(tmp, data))
	local pipe = assert(io.popen(tool .. " " .. shell_quote(tmp)))
	local out = pipe:read("*l") or ""
	pipe:close()
	os.remove(tmp)
	local hex = assert(out:match("^(%x+)"), tool .. " printed nothing")
	return (hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end
E.coreutils_digest = coreutils_digest

--- Create an engine.
-- options:
--   save_root       folder that stands for the OS application-support folder
--   engine_version  sys.get_engine_info().version, e.g. "1.9.0"
--   crypt           false to leave extension-crypt out (default: present)
--   http            "real" (LuaSocket) or a function(url, request) -> response serving a fake network
function E.new(options)
	options = options or {}
	local engine = { log = {}, requests = {}, now = 0 }
	local queue, seq = {}, 0

	local function schedule(delay, fn)
		seq = seq + 1
		queue[#queue + 1] = { due = engine.now + (delay or 0), seq = seq, fn = fn }
	end
	engine.schedule = schedule

	--- Run callbacks until nothing is scheduled (virtual time; `limit` guards against loops).
	function engine.run(limit)
		local steps = 0
		while #queue > 0 do
			table.sort(queue, function(a, b) if a.due ~= b.due then return a.due < b.due end return a.seq < b.seq end)
			local item = table.remove(queue, 1)
			engine.now = math.max(engine.now, item.due)
			item.fn()
			steps = steps + 1
			assert(steps < (limit or 100000), "engine.run: too many steps")
		end
	end

	-- hash(): dmScript::PushHash gives a userdata compared by value; interning gives the same equality.
	local hashes = {}
	local hash_mt = { __tostring = function(h) return "hash: [" .. h.text .. "]" end }
	function engine.hash(text)
		assert(type(text) == "string", "hash expects a string")
		local h = hashes[text]
		if not h then
			h = setmetatable({ text = text }, hash_mt)
			hashes[text] = h
		end
		return h
	end

	-- timer.delay(delay, repeating, callback(self, handle, time_elapsed)) -- Defold timer API manual
	local handles = 0
	engine.timer = {
		delay = function(delay, repeating, callback)
			assert(type(delay) == "number" and delay >= 0, "timer.delay: delay must be a number >= 0")
			assert(repeating == false, "the kit never repeats timers")
			handles = handles + 1
			local handle = handles
			schedule(delay, function() callback(nil, handle, delay) end)
			return handle
		end,
	}

	-- json: Defold's json.decode raises on bad input and decodes null to nil (json.decode
	-- option decode_null_as_userdata defaults to false); cjson gives cjson.null, mapped to nil here.
	local function strip_null(v)
		if v == cjson.null then return nil end
		if type(v) == "table" then
			for k, x in pairs(v) do v[k] = strip_null(x) end
		end
		return v
	end
	engine.json = {
		decode = function(text) return strip_null(cjson.decode(text)) end,
		encode = function(value) return cjson.encode(value) end,
	}

	-- sys (engine/script/src/script_sys.cpp)
	local save_root = assert(options.save_root, "engine.new needs save_root")
	local engine_version = options.engine_version or "1.9.0"
	engine.sys = {
		-- GetApplicationSupportPath(application_id) creates the folder; the file name is appended with "/".
		get_save_file = function(application_id, file_name)
			assert(type(application_id) == "string" and type(file_name) == "string", "sys.get_save_file(application_id, file_name)")
			local dir = save_root .. "/" .. application_id
			os.execute("mkdir -p " .. shell_quote(dir))
			return dir .. "/" .. file_name
		end,
		-- version is the version string; version_sha1 the SHA-1 of the engine build (its commit).
		get_engine_info = function()
			return { version = engine_version, version_sha1 = "0060183cce2e29dbd09c85ece83cbb72068ee050", is_debug = false }
		end,
		-- sys.save writes a temporary file then renames it over the target (native build); the table
		-- format is the engine's own, JSON here so that tests can read it. Raises on failure.
		save = function(path, value)
			assert(type(value) == "table", "sys.save: table expected")
			if engine.fail_save then error("Could not write to the file " .. path .. ".") end
			local tmp = path .. ".defoldtmp"
			local ok, write_error = write_file(tmp, cjson.encode(value))
			if not ok then error("Could not write to the file " .. path .. ": " .. tostring(write_error)) end
			assert(os.rename(tmp, path))
			return true
		end,
		-- sys.load returns an empty table when the file does not exist.
		load = function(path)
			local data = read_file(path)
			if not data then return {} end
			return strip_null(cjson.decode(data))
		end,
	}

	-- crypt (defold/extension-crypt crypt/src/crypt.cpp): raw digests of a whole string.
	if options.crypt ~= false then
		engine.crypt = {
			hash_sha256 = function(data) return coreutils_digest("sha256sum", data) end,
			hash_sha1 = function(data) return coreutils_digest("sha1sum", data) end,
		}
	end

	-- bit: Defold's global BitOp module (engine/script/src/script_bitop.cpp); LuaJIT's own, or lua-bitop.
	engine.bit = require("bit")
	engine.io, engine.os = io, os

	-- liveupdate (engine/liveupdate/src/script_liveupdate.cpp, resource_mounts.cpp)
	local mounts = { { name = "_base", uri = "archive:build/default/game.dmanifest", priority = -10 } }
	engine.liveupdate = {}
	for k, v in pairs(E.LIVEUPDATE) do engine.liveupdate["LIVEUPDATE_" .. k] = v end
	local function find(name)
		for i, m in ipairs(mounts) do if m.name == name then return i, m end end
	end
	-- add_mount(name, uri, priority, callback(self, name_hash, uri, result)) -> result now; the
	-- callback comes later from the job thread. Argument errors raise (DM_LUA_ERROR).
	engine.liveupdate.add_mount = function(name, uri, priority, callback)
		assert(type(name) == "string" and type(uri) == "string", "add_mount(name, uri, priority, callback)")
		if type(priority) ~= "number" or priority ~= math.floor(priority) then error("bad argument #3 to 'add_mount' (number expected)") end
		if priority < 0 then error("Priority needs to be a positive number: " .. priority) end
		if name:sub(1, 1) == "_" then error("Name must not start with '_': " .. name) end
		engine.mount_calls = (engine.mount_calls or 0) + 1
		schedule(0, function()
			local result = E.LIVEUPDATE.OK
			local scheme, path = uri:match("^(%a+):(.*)$")
			if #name >= 64 then
				result = E.LIVEUPDATE.INVAL -- MAX_NAME_LENGTH = 64 in resource_mounts.cpp
			elseif find(name) then
				result = E.LIVEUPDATE.INVAL -- "Mount with name already exists"
			elseif scheme ~= "zip" and scheme ~= "file" then
				result = E.LIVEUPDATE.SCHEME_MISMATCH
			elseif engine.fail_next_mount then
				result = engine.fail_next_mount
				engine.fail_next_mount = nil
			else
				local data = read_file(path)
				-- Our choice where the engine is silent: a missing file is an IO error, a file that is
				-- not a zip (no local-file-header signature) a format error.
				if not data then result = E.LIVEUPDATE.IO_ERROR
				elseif scheme == "zip" and data:sub(1, 4) ~= "PK\3\4" then result = E.LIVEUPDATE.FORMAT_ERROR end
			end
			if result == E.LIVEUPDATE.OK then
				mounts[#mounts + 1] = { name = name, uri = uri, priority = priority, bytes = read_file(path) }
				table.sort(mounts, function(a, b) return a.priority > b.priority end)
			end
			callback(nil, engine.hash(name), uri, result)
		end)
		return E.LIVEUPDATE.OK
	end
	-- remove_mount(name) -> result, synchronous (RemoveMountSync). Unknown names: INVAL here.
	engine.liveupdate.remove_mount = function(name)
		if name:sub(1, 1) == "_" then error("Cannot remove base mounts: " .. name) end
		local i = find(name)
		if not i then return E.LIVEUPDATE.INVAL end
		table.remove(mounts, i)
		return E.LIVEUPDATE.OK
	end
	-- get_mounts() -> { { name = hash, uri = string, priority = number }, ... }, highest priority first.
	engine.liveupdate.get_mounts = function()
		local out = {}
		for i, m in ipairs(mounts) do out[i] = { name = engine.hash(m.name), uri = m.uri, priority = m.priority } end
		return out
	end
	--- Test access: the mounts with their string names and the bytes they were mounted with.
	function engine.mounted()
		local out = {}
		for _, m in ipairs(mounts) do if m.priority >= 0 then out[#out + 1] = m end end
		return out
	end

	-- http.request(url, method, callback(self, id, response), headers, post_data, options)
	-- (engine/gamesys/src/gamesys/scripts/script_http.cpp): the response arrives later as a message.
	-- With options.path the body is written to that file and "only overwrites the path if status is
	-- 200"; response.path is set, response.response is not. With report_progress, progress messages
	-- carry bytes_received / bytes_total before the final response. A request that gets no HTTP
	-- answer (refused connection, timeout, cut transfer) reports status 0 with `error` set.
	local fetch
	if options.http == "real" then
		local socket = require("socket")
		local socket_http = require("socket.http")
		local ltn12 = require("ltn12")
		fetch = function(url, timeout)
			local chunks = {}
			local ok, code, headers = socket_http.request({
				url = url, method = "GET", sink = ltn12.sink.table(chunks),
				create = function()
					local s = socket.tcp()
					s:setoption("tcp-nodelay", true)
					s:settimeout(timeout or 30)
					return s
				end,
			})
			if not ok then return { status = 0, error = tostring(code) } end
			return { status = code, body = table.concat(chunks), headers = headers }
		end
	else
		-- fake network: options.http(url, request) -> { status, body, headers } or { timeout = true }
		local serve = options.http or function() return { status = 404, body = "" } end
		fetch = function(url, timeout, request)
			local r = serve(url, request)
			if r.timeout then return { status = 0, error = "timeout" } end
			return r
		end
	end
	local request_ids = 0
	engine.http = {
		request = function(url, method, callback, headers, post_data, request_options)
			assert(type(url) == "string" and type(method) == "string" and type(callback) == "function", "http.request(url, method, callback, ...)")
			request_options = request_options or {}
			request_ids = request_ids + 1
			local id = engine.hash("http" .. request_ids)
			local request = { url = url, method = method, options = request_options, at = engine.now }
			engine.requests[#engine.requests + 1] = request
			schedule(0, function()
				local r = fetch(url, request_options.timeout, request)
				local response = { status = r.status, headers = r.headers or {}, error = r.error }
				local body = r.body or ""
				if request_options.report_progress and r.status == 200 then
					local total = tonumber((r.headers or {})["content-length"]) or #body
					callback(nil, id, { bytes_received = math.floor(#body / 2), bytes_total = total })
					callback(nil, id, { bytes_received = #body, bytes_total = total })
				end
				if request_options.path then
					response.path = request_options.path
					if r.status == 200 then
						local ok, write_error = write_file(request_options.path, body)
						if not ok then response.error = tostring(write_error) end
					end
				else
					response.response = body
				end
				callback(nil, id, response)
			end)
		end,
	}

	--- The module table a client gets as `config.engine`.
	function engine.port()
		return {
			http = engine.http, sys = engine.sys, liveupdate = engine.liveupdate, json = engine.json,
			crypt = engine.crypt, timer = engine.timer, hash = engine.hash, bit = engine.bit,
			io = engine.io, os = engine.os,
		}
	end
	return engine
end

E.read_file = read_file
E.write_file = write_file
E.shell_quote = shell_quote
return E
