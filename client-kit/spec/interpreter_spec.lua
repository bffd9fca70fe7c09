-- The suite runs under the interpreter the caller asked for (test/client-kit/busted.test.ts sets it).

describe("interpreter", function()
	it("is the one requested in LUP_EXPECT_INTERPRETER", function()
		local expected = os.getenv("LUP_EXPECT_INTERPRETER")
		assert.is_not_nil(expected, "LUP_EXPECT_INTERPRETER is not set")
		assert.are.equal("Lua 5.1", _VERSION)
		if expected == "luajit" then
			assert.is_not_nil(rawget(_G, "jit"), "expected LuaJIT")
		else
			assert.is_nil(rawget(_G, "jit"), "expected PUC Lua 5.1")
		end
	end)
end)
