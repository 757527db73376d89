using Tempo.Core;

namespace Tempo.Workloads.Tests;

public class WorkloadJsonlTests
{
    [Fact]
    public void WriteThenRead_GeneratedMixedWorkload_RoundTripsExactly()
    {
        var original = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 300, Arrival = ArrivalProcess.Gamma, BurstCv = 2.5 });
        var text = new StringWriter();

        WorkloadJsonl.Write(original, text);
        var back = WorkloadJsonl.Read(new StringReader(text.ToString()), "mixed.jsonl");

        Assert.Equal("mixed", back.Name);
        Assert.Equal(original.Requests, back.Requests);
    }

    [Fact]
    public void Read_DocumentedExample_ParsesAllFields()
    {
        const string line = """{"id":1,"arrival_s":0.5,"class":"latency","prompt_tokens":120,"output_tokens":300,"slo":{"ttft_s":1,"tbt_s":0.1,"deadline_s":10},"client_id":0,"priority":0,"job_id":null,"stage":0,"stage_count":1,"app":null,"prompt":"optional text"}""";

        var r = Assert.Single(WorkloadJsonl.Read(new StringReader(line), "x.jsonl").Requests);

        Assert.Equal(new RequestSpec
        {
            Id = 1,
            ArrivalS = 0.5,
            Class = RequestClass.Latency,
            Slo = new Slo(1, 0.1, 10),
            PromptTokens = 120,
            OutputTokens = 300,
            PromptText = "optional text",
        }, r);
    }

    [Fact]
    public void Read_MinimalCollectiveCalls_InfersStageCountAndDefaults()
    {
        const string text = """
            {"arrival_s":2,"class":"collective","prompt_tokens":10,"output_tokens":5,"job_id":"agent-7","stage":0}
            {"arrival_s":2,"class":"collective","prompt_tokens":30,"output_tokens":5,"job_id":"agent-7","stage":1}

            {"arrival_s":1,"class":"throughput","prompt_tokens":10,"output_tokens":5}
            """;

        var w = WorkloadJsonl.Read(new StringReader(text), "agents.jsonl", new WorkloadOptions { SloBase = new Slo(2, 0.2, 20) });

        Assert.Equal(RequestClass.Throughput, w.Requests[0].Class);
        Assert.Equal(new Slo(2, 0.2, 20), w.Requests[0].Slo);
        Assert.All(w.Requests.Skip(1), r => Assert.Equal(2, r.StageCount));
        Assert.Single(w.Requests.Skip(1).Select(r => r.JobId).Distinct());
        Assert.Equal(2, w.Arrivals);
    }

    [Theory]
    [InlineData("{\"arrival_s\":1,\"class\":\"latency\",\"prompt_tokens\":10", "line 2: ")]
    [InlineData("{\"arrival_s\":1,\"class\":\"chatty\",\"prompt_tokens\":10,\"output_tokens\":5}", "line 2: unknown class 'chatty'")]
    [InlineData("{\"arrival_s\":1,\"class\":\"latency\",\"output_tokens\":5}", "line 2: missing field 'prompt_tokens'")]
    [InlineData("{\"arrival_s\":-1,\"class\":\"latency\",\"prompt_tokens\":10,\"output_tokens\":5}", "line 2: 'arrival_s' must be a non-negative number")]
    [InlineData("{\"arrival_s\":1,\"class\":\"latency\",\"prompt_tokens\":10,\"output_tokens\":-5}", "line 2: 'output_tokens' must be an integer ≥ 1")]
    [InlineData("{\"arrival_s\":1,\"class\":\"collective\",\"prompt_tokens\":10,\"output_tokens\":5}", "line 2: a collective call needs a job_id")]
    [InlineData("[1,2]", "line 2: expected a JSON object")]
    [InlineData("{\"arrival_s\":1,\"class\":\"latency\",\"prompt_tokens\":10,\"output_tokens\":5,\"slo\":{\"ttft_s\":-1}}", "line 2: 'ttft_s' must be a non-negative number")]
    public void Read_MalformedLine_OneLineErrorNamingTheLine(string badLine, string expected)
    {
        var text = "{\"arrival_s\":0,\"class\":\"latency\",\"prompt_tokens\":10,\"output_tokens\":5}\n" + badLine + "\n";

        var e = Assert.Throws<FormatException>(() => WorkloadJsonl.Read(new StringReader(text), "w.jsonl"));

        Assert.StartsWith("w.jsonl " + expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Read_DuplicateIds_FailsValidation()
    {
        const string text = """
            {"id":3,"arrival_s":0,"class":"latency","prompt_tokens":10,"output_tokens":5}
            {"id":3,"arrival_s":1,"class":"latency","prompt_tokens":10,"output_tokens":5}
            """;

        var e = Assert.Throws<ArgumentException>(() => WorkloadJsonl.Read(new StringReader(text), "w.jsonl"));

        Assert.Contains("duplicate request id 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_WithRequestsAndRate_KeepsFirstArrivalsAndRescales()
    {
        var original = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 200 });
        var text = new StringWriter();
        WorkloadJsonl.Write(original, text);

        var back = WorkloadJsonl.Read(new StringReader(text.ToString()), "m.jsonl", new WorkloadOptions { Requests = 50, Rate = 2.0 });

        Assert.Equal(50, back.Arrivals);
        var firsts = back.Requests.GroupBy(r => r.JobId is { } j ? -1 - j : r.Id).Select(g => g.First().ArrivalS).Order().ToList();
        Assert.Equal(2.0, (firsts.Count - 1) / (firsts[^1] - firsts[0]), 9);
    }
}
