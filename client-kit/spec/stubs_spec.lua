-- The engine stubs behave as the engine source and manuals they cite (spec/support/engine.lua).

local Engine = require("spec.support.engine")
local W = require("spec.support.world")

describe("engine stubs", function()
	local engine, root
	before_each(function()
		root = W.tmpdir()
		engine = Engine.new({ save_root = root, http = function(url)
			if url:match("ok$") then return { status = 200, body = "PK\3\4body" } end
			return { status = 500, body = "oops" }
		end })
	end)

	it("http.request calls back later, with (self, id, response)", function()
		local got
		engine.http.request("https://x/ok", "GET", function(self, id, response) got = { self = self, id = id, response = response } end)
		assert.is_nil(got)
		engine.run()
		assert.are.equal(200, got.response.status)
		assert.are.equal("PK\3\4body", got.response.response)
		assert.is_not_nil(got.id)
	end)

	it("http.request with path writes the file only for status 200", function()
		local ok_path, bad_path = root .. "/a", root .. "/b"
		local bad
		engine.http.request("https://x/ok", "GET", function() end, nil, nil, { path = ok_path })
		engine.http.request("https://x/fail", "GET", function(_, _, r) bad = r end, nil, nil, { path = bad_path })
		engine.run()
		assert.are.equal("PK\3\4body", Engine.read_file(ok_path))
		assert.is_nil(Engine.read_file(bad_path))
		assert.are.equal(500, bad.status)
		assert.are.equal(bad_path, bad.path)
		assert.is_nil(bad.response)
	end)

	it("liveupdate.add_mount raises on a negative priority or a name starting with _", function()
		assert.has_error(function() engine.liveupdate.add_mount("a", "zip:/x", -1, function() end) end)
		assert.has_error(function() engine.liveupdate.add_mount("_a", "zip:/x", 1, function() end) end)
	end)

	it("liveupdate.add_mount reports INVAL for names of 64 characters, IO_ERROR for a missing file, FORMAT_ERROR for a non-zip", function()
		local path = root .. "/z.zip"
		Engine.write_file(path, "PK\3\4zip")
		local notzip = root .. "/n.zip"
		Engine.write_file(notzip, "nope")
		local results = {}
		local function cb(_, name, _, result) results[#results + 1] = { tostring(name), result } end
		assert.are.equal(0, engine.liveupdate.add_mount(string.rep("a", 64), "zip:" .. path, 1, cb))
		engine.liveupdate.add_mount("missing", "zip:" .. root .. "/none.zip", 1, cb)
		engine.liveupdate.add_mount("notzip", "zip:" .. notzip, 1, cb)
		engine.liveupdate.add_mount(string.rep("b", 63), "zip:" .. path, 1, cb)
		assert.are.same({}, results)
		engine.run()
		assert.are.same({
			{ "hash: [" .. string.rep("a", 64) .. "]", -11 },
			{ "hash: [missing]", -10 },
			{ "hash: [notzip]", -9 },
			{ "hash: [" .. string.rep("b", 63) .. "]", 0 },
		}, results)
	end)

	it("liveupdate.get_mounts lists hashed names, highest priority first, base mounts below zero", function()
		local path = root .. "/z.zip"
		Engine.write_file(path, "PK\3\4zip")
		engine.liveupdate.add_mount("low", "zip:" .. path, 1, function() end)
		engine.liveupdate.add_mount("high", "zip:" .. path, 9, function() end)
		engine.run()
		local mounts = engine.liveupdate.get_mounts()
		assert.are.equal(engine.hash("high"), mounts[1].name)
		assert.are.equal(engine.hash("low"), mounts[2].name)
		assert.is_true(mounts[3].priority < 0)
		assert.are.equal(0, engine.liveupdate.remove_mount("low"))
		assert.are.equal(2, #engine.liveupdate.get_mounts())
	end)

	it("crypt.hash_sha256 returns the 32 raw bytes of a real SHA-256", function()
		local raw = engine.crypt.hash_sha256("abc")
		assert.are.equal(32, #raw)
		assert.are.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end)))
	end)

	it("sys.get_engine_info gives the version string and the build's commit SHA-1", function()
		local info = engine.sys.get_engine_info()
		assert.are.equal("1.9.0", info.version)
		assert.are.equal(40, #info.version_sha1)
	end)
end)
