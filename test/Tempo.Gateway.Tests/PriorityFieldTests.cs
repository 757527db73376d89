using System.Text;
using System.Text.Json;

namespace Tempo.Gateway.Tests;

public class PriorityFieldTests
{
    private static MemoryStream Body(string json) => new(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void AddsThePriority_KeepingEveryOtherField()
    {
        using var body = Body("""{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":4}""");

        using var rewritten = PriorityField.Add(body, 1234)!;

        var root = JsonDocument.Parse(rewritten).RootElement;
        Assert.Equal(1234, root.GetProperty("priority").GetInt32());
        Assert.Equal(4, root.GetProperty("max_tokens").GetInt32());
        Assert.Equal("hi", root.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(0, body.Position);
    }

    [Theory]
    [InlineData("""{"priority":-5,"max_tokens":4}""")]
    [InlineData("""[1,2]""")]
    [InlineData("""{"broken":""")]
    public void LeavesAlone_ABodyWithAPriority_OrThatIsNotAJsonObject(string json)
    {
        using var body = Body(json);

        Assert.Null(PriorityField.Add(body, 7));
        Assert.Equal(0, body.Position);
    }

    [Fact]
    public void Of_IsTheLatestStartInMilliseconds_LowerForTheMoreUrgent()
    {
        Assert.Equal(1500, PriorityField.Of(1.5));
        Assert.True(PriorityField.Of(0.2) < PriorityField.Of(0.3));
        Assert.Equal(int.MaxValue, PriorityField.Of(double.PositiveInfinity));
        Assert.Equal(int.MaxValue, PriorityField.Of(1e12));
    }
}
