-- The staged-rollout cohort rule against the vectors shared with the pipeline's jest test
-- (spec/fixtures/cohort-vectors.json, test/core/documents/cohort.test.ts), under the `bit` of the
-- running interpreter (LuaJIT's own, lua-bitop on Lua 5.1).

local cjson = require("cjson")
local Engine = require("spec.support.engine")
local lup = require("lup_client.lup_client")

local vectors = cjson.decode(Engine.read_file("spec/fixtures/cohort-vectors.json"))
local bit = require("bit")

describe("lup_client cohort rule", function()
	it("has vectors to check", function()
		assert.is_true(#vectors.hash >= 3 and #vectors.buckets >= 10 and #vectors.cohorts >= 8)
	end)

	it("computes FNV-1a 32 as the published FNV test values", function()
		for _, v in ipairs(vectors.hash) do
			assert.are.equal(v.fnv1a32, lup.fnv1a32(v.input, bit), v.note)
		end
	end)

	it("computes hash and bucket of salt:installId as the shared vectors (multi-byte UTF-8 included)", function()
		for _, v in ipairs(vectors.buckets) do
			assert.are.equal(v.fnv1a32, lup.fnv1a32(v.salt .. ":" .. v.installId, bit), v.salt .. ":" .. v.installId)
			assert.are.equal(v.bucket, lup.cohort_bucket(v.salt, v.installId, bit), v.salt .. ":" .. v.installId)
		end
	end)

	it("decides candidate or stable as the shared vectors", function()
		for _, v in ipairs(vectors.cohorts) do
			assert.are.equal(v.candidate, lup.takes_candidate({ salt = v.salt, share = v.share, state = v.state }, v.installId, bit), v.note)
		end
	end)

	it("stays within 0 .. 2^32-1 on long inputs, without integer overflow errors", function()
		local h = lup.fnv1a32(string.rep("\255", 10000), bit)
		assert.is_true(h >= 0 and h < 4294967296 and h == math.floor(h))
	end)

	it("uses the global bit when none is passed", function()
		local v = vectors.buckets[1]
		assert.are.equal(v.bucket, lup.cohort_bucket(v.salt, v.installId))
	end)
end)
