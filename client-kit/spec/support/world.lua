--- A small world for the specs: a fake CDN (pointer + archives by path) served through the stubbed
-- http.request, a save folder in a temporary directory, and helpers to run a client to completion.

local Engine = require("spec.support.engine")
local cjson = require("cjson")

local W = {}

W.CDN = "https://cdn.example.com/"

local counter = 0
function W.tmpdir()
	counter = counter + 1
	local dir = os.tmpname()
	os.remove(dir)
	dir = dir .. "-lup-" .. counter
	assert(os.execute("mkdir -p " .. Engine.shell_quote(dir)) == 0 or true)
	return dir
end

local function sha256_hex(data)
	local raw = Engine.coreutils_digest("sha256sum", data)
	return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
W.sha256_hex = sha256_hex

function W.sha1_hex(data)
	local raw = Engine.coreutils_digest("sha1sum", data)
	return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

--- Bytes that look like a zip to the mount stub (local-file-header signature first).
function W.zip_bytes(seed, size)
	local parts, n = { "PK\3\4" }, 4
	local x = 0
	for i = 1, #seed do x = (x * 31 + seed:byte(i)) % 2147483647 end
	while n < (size or 2000) do
		x = (x * 1103515245 + 12345) % 2147483648
		parts[#parts + 1] = string.char(x % 256)
		n = n + 1
	end
	return table.concat(parts)
end

--- A CDN with `files` (path -> bytes) and a pointer per channel; `faults` rewrites responses.
function W.cdn()
	local cdn = { files = {}, pointers = {}, faults = {} }
	function cdn.add_archive(game, seed, size)
		local bytes = W.zip_bytes(seed, size)
		local sha = sha256_hex(bytes)
		local path = "content/" .. game .. "/archives/" .. sha .. ".zip"
		cdn.files[path] = bytes
		return { sha256 = sha, path = path, url = W.CDN .. path, sizeBytes = #bytes }
	end
	--- Publish a pointer: archives = { { archive (from add_archive), name, priority } }.
	function cdn.publish(spec)
		local archives = {}
		for i, a in ipairs(spec.archives or {}) do
			archives[i] = { name = a.name, priority = a.priority, path = a.archive.path, url = a.archive.url, sha256 = a.archive.sha256, sizeBytes = a.archive.sizeBytes }
		end
		local game, channel = spec.game or "sample", spec.channel or "stable"
		local manifest_sha = string.rep("ab", 32)
		local pointer = {
			schemaVersion = 1, game = game, channel = channel, sequence = spec.sequence,
			releaseId = spec.release or ("r" .. spec.sequence), cause = "release", publishedAt = "2026-12-01T10:00:00.000Z",
			manifest = { path = "content/" .. game .. "/manifests/" .. manifest_sha .. ".dmanifest", url = W.CDN .. "content/" .. game .. "/manifests/" .. manifest_sha .. ".dmanifest", sha256 = manifest_sha, sizeBytes = 100, schema = "v5" },
			stableManifest = { path = "channels/" .. game .. "/" .. channel .. ".dmanifest", url = W.CDN .. "channels/" .. game .. "/" .. channel .. ".dmanifest" },
			archives = archives,
			resourcesBase = { path = "content/" .. game .. "/resources/", url = W.CDN .. "content/" .. game .. "/resources/" },
			engineVersions = spec.engine_versions or { W.sha1_hex(""), W.sha1_hex("1.9.0") },
			history = { { sequence = spec.sequence, releaseId = spec.release or ("r" .. spec.sequence), requestId = "x", cause = "release", at = "2026-12-01T10:00:00.000Z" } },
		}
		if spec.rollout then
			-- rollout = { release, archives (as above), salt, share, state }
			local r = spec.rollout
			local candidate = {}
			for i, a in ipairs(r.archives) do
				candidate[i] = { name = a.name, priority = a.priority, path = a.archive.path, url = a.archive.url, sha256 = a.archive.sha256, sizeBytes = a.archive.sizeBytes }
			end
			local cd = string.rep("cd", 32)
			pointer.rollout = {
				releaseId = r.release, archives = candidate, salt = r.salt, share = r.share, state = r.state or "active",
				manifest = { path = "content/" .. game .. "/manifests/" .. cd .. ".dmanifest", url = W.CDN .. "content/" .. game .. "/manifests/" .. cd .. ".dmanifest", sha256 = cd, sizeBytes = 100, schema = "v5" },
				resourcesBase = pointer.resourcesBase, engineVersions = r.engine_versions or pointer.engineVersions,
				startedAt = "2026-12-01T10:00:00.000Z", startedSequence = r.started or spec.sequence,
			}
		end
		local text = cjson.encode(pointer)
		if #archives == 0 then text = text:gsub('"archives":{}', '"archives":[]') end
		cdn.files["channels/" .. game .. "/" .. channel .. ".json"] = text
		return pointer
	end
	--- The fake network: serves files by path below W.CDN, through the fault list first.
	function cdn.serve(url, request)
		local path = url:sub(#W.CDN + 1)
		for i, fault in ipairs(cdn.faults) do
			if path:match(fault.match) and (fault.times or 1) > 0 then
				fault.times = (fault.times or 1) - 1
				if fault.times == 0 then table.remove(cdn.faults, i) end
				local r = fault.respond(cdn.files[path], request)
				if r then return r end
			end
		end
		local body = cdn.files[path]
		if not body then return { status = 404, body = "" } end
		return { status = 200, body = body, headers = { ["content-length"] = tostring(#body) } }
	end
	return cdn
end

--- A new session: a fresh engine (mounts are per session) over the same save folder.
function W.session(save_root, cdn, options)
	options = options or {}
	return Engine.new({ save_root = save_root, engine_version = options.engine_version or "1.9.0", crypt = options.crypt, http = cdn.serve })
end

--- A client on `engine`; config fields override the defaults.
function W.client(engine, config)
	local lup = require("lup_client.lup_client")
	local c = { base_url = W.CDN, game = "sample", channel = "stable", app_id = "game", engine = engine.port(), backoff = 1, retries = 3, log = function(level, message)
		engine.log[#engine.log + 1] = { level = level, message = message }
	end }
	for k, v in pairs(config or {}) do c[k] = v end
	return assert(lup.new(c))
end

--- Call `method` on `client` and run the engine until the callback came; returns the result.
function W.call(engine, client, method, on_progress)
	local result
	client[method](client, function(r) result = r end, on_progress)
	engine.run()
	assert(result ~= nil, method .. " never called back")
	return result
end

function W.read_state(engine)
	return engine.sys.load(engine.sys.get_save_file("game", "lup-sample-stable-state"))
end

function W.file_exists(path)
	local f = io.open(path, "rb")
	if f then f:close() return true end
	return false
end

return W
