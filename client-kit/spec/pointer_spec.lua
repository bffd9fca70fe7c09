-- The pointer fixtures shared with the jest check against the pointer codec
-- (test/client-kit/pointer-fixtures.test.ts): what lup_client.check_pointer says of each.

local cjson = require("cjson")
local Engine = require("spec.support.engine")
local lup = require("lup_client.lup_client")

local dir = "spec/fixtures/pointers/"
local index_text = Engine.read_file(dir .. "index.json")
local index = cjson.decode(index_text)

describe("lup_client.check_pointer", function()
	it("has fixtures to check", function()
		assert.is_true(#index.fixtures >= 10)
	end)
	for _, fixture in ipairs(index.fixtures) do
		it(fixture.file .. " -> " .. fixture.lua .. (fixture.field and (" at " .. fixture.field) or ""), function()
			local json = Engine.new({ save_root = os.tmpname() .. "-p" }).json
			local text = Engine.read_file(dir .. fixture.file)
			assert.is_string(text)
			local pointer = json.decode(text)
			local problem = lup.check_pointer(pointer)
			if fixture.lua == "ok" then
				assert.is_nil(problem, problem and problem.message)
			else
				assert.is_not_nil(problem)
				assert.are.equal(fixture.lua, problem.code)
				assert.are.equal(fixture.field, problem.field)
				assert.is_string(problem.expected)
				assert.is_string(problem.actual)
			end
		end)
	end
end)
