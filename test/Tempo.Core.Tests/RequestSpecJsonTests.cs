using System.Buffers;
using System.Text.Json;

namespace Tempo.Core.Tests;

public class RequestSpecJsonTests
{
    [Fact]
    public void Read_GivesBackWhatWriteWrote()
    {
        RequestSpec[] specs =
        [
            new() { Id = 7, ArrivalS = 1.25, Class = RequestClass.Latency, Slo = new Slo(1, 0.1, 10), PromptTokens = 12, OutputTokens = 30, ClientId = 2, Priority = -1, PromptText = "héllo \"world\"\n" },
            new() { Id = 8, ArrivalS = 0.1 + 0.2, Class = RequestClass.Collective, Slo = new Slo(2, 0.2, 40), PromptTokens = 5, OutputTokens = 1, JobId = 3, Stage = 1, StageCount = 4, App = "tot" },
            new() { Id = 9, ArrivalS = 0, Class = RequestClass.Throughput, Slo = new Slo(0, 0, 1e-9), PromptTokens = 1, OutputTokens = 2 },
        ];

        foreach (var spec in specs)
        {
            Assert.Equal(spec, RequestSpecJson.Read(JsonDocument.Parse(Write(spec)).RootElement));
        }
    }

    [Theory]
    [InlineData("""{"id":1}""", "missing field")]
    [InlineData("""{"id":1,"arrival_s":0,"class":"urgent","prompt_tokens":1,"output_tokens":1,"slo":{"ttft_s":1,"tbt_s":1,"deadline_s":1},"client_id":0,"priority":0,"job_id":null,"stage":0,"stage_count":1,"app":null}""", "urgent")]
    [InlineData("""[1,2]""", "object")]
    public void Read_BadObject_SaysWhatIsWrong(string json, string expected)
    {
        var e = Assert.Throws<FormatException>(() => RequestSpecJson.Read(JsonDocument.Parse(json).RootElement));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Read_InvalidSpec_IsRefused()
    {
        const string json = """{"id":1,"arrival_s":0,"class":"latency","prompt_tokens":0,"output_tokens":1,"slo":{"ttft_s":1,"tbt_s":1,"deadline_s":1},"client_id":0,"priority":0,"job_id":null,"stage":0,"stage_count":1,"app":null}""";

        Assert.Throws<ArgumentException>(() => RequestSpecJson.Read(JsonDocument.Parse(json).RootElement));
    }

    private static string Write(RequestSpec spec)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            RequestSpecJson.Write(json, spec);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
