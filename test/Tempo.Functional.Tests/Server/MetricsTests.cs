using System.Text.Json;


namespace Tempo.Functional.Tests.Server;

/// <summary>/metrics: Prometheus text that parses, with vLLM's names and counts that match the traffic.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_AfterRequests_CountsMatchTheResponses()
    {
        await using var f = await ServerFixture.Start();
        var responses = new List<JsonElement>();
        foreach (var maxTokens in new[] { 3, 5, 8 })
        {
            var (status, body, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens));
            Assert.Equal(200, status);
            responses.Add(body);
        }

        var streamed = await f.Stream("v1/completions", """{"prompt":"abcdefgh","max_tokens":4,"stream":true,"slo":{"class":"throughput","deadline_ms":60000}}""");
        await f.Post("v1/chat/completions", "{oops");

        var m = await f.Metrics();
        var model = $"model_name=\"{f.Model}\"";
        var prompt = responses.Sum(r => r.GetProperty("usage").GetProperty("prompt_tokens").GetInt32()) + 2;
        Assert.Equal(prompt, m[$"vllm:prompt_tokens_total{{{model}}}"]);
        Assert.Equal(3 + 5 + 8 + 4, m[$"vllm:generation_tokens_total{{{model}}}"]);
        Assert.Equal(4, m[$"vllm:request_success_total{{{model},finished_reason=\"length\"}}"]);
        Assert.Equal(4, m[$"vllm:time_to_first_token_seconds_count{{{model}}}"]);
        Assert.Equal(4, m[$"vllm:e2e_request_latency_seconds_count{{{model}}}"]);
        Assert.Equal(4, m[$"vllm:e2e_request_latency_seconds_bucket{{{model},le=\"+Inf\"}}"]);
        Assert.Equal(2 + 4 + 7 + 3, m[$"vllm:inter_token_latency_seconds_count{{{model}}}"]);
        Assert.Equal(3, m["tempo_slo_attained_total{class=\"latency\"}"] + m["tempo_slo_missed_total{class=\"latency\"}"]);
        Assert.Equal(1, m["tempo_slo_attained_total{class=\"throughput\"}"]);
        Assert.Equal(2 + (8 * 4), m["tempo_service_gain_total{class=\"throughput\"}"]);
        Assert.Equal(1, m["tempo_requests_refused_total{reason=\"invalid\"}"]);
        Assert.Equal(0, m[$"vllm:num_requests_running{{{model}}}"]);
        Assert.Equal(0, m[$"vllm:num_requests_waiting{{{model}}}"]);
        Assert.Equal(0, m[$"vllm:kv_cache_usage_perc{{{model}}}"]);
        Assert.Contains(m.Keys, k => k.StartsWith("vllm:cache_config_info{", StringComparison.Ordinal));
        Assert.Equal("[DONE]", streamed[^1]);
    }

    [Fact]
    public async Task Metrics_CollectiveJob_JudgedOnceWhenForgotten()
    {
        // One job remembered at a time: the second job's first call makes the server forget, and so judge, the first.
        await using var f = await ServerFixture.Start(o => o with { MaxTrackedJobs = 1 });
        static string Call(string job) => ServerFixture.ChatBody(2, $$""","slo":{"class":"collective","deadline_ms":60000,"job_id":"{{job}}","stage":0,"stage_count":1}""");
        Assert.Equal(200, (await f.Post("v1/chat/completions", Call("j1"))).Status);
        Assert.Equal(200, (await f.Post("v1/chat/completions", Call("j1"))).Status);

        var before = await f.Metrics();
        Assert.Equal(200, (await f.Post("v1/chat/completions", Call("j2"))).Status);
        var after = await f.Metrics();

        var model = $"model_name=\"{f.Model}\"";
        Assert.Equal(0, before[$"tempo_collective_jobs_total{{{model},outcome=\"met\"}}"]);
        Assert.Equal(1, after[$"tempo_collective_jobs_total{{{model},outcome=\"met\"}}"]);
        Assert.Equal(0, after[$"tempo_collective_jobs_total{{{model},outcome=\"missed\"}}"]);
    }

    [Fact]
    public async Task Metrics_Histograms_AreCumulative()
    {
        await using var f = await ServerFixture.Start();
        await f.Post("v1/chat/completions", ServerFixture.ChatBody(6));

        var text = await f.MetricsText();

        var buckets = ServerFixture.ParseMetrics(text).Where(p => p.Key.StartsWith("vllm:inter_token_latency_seconds_bucket", StringComparison.Ordinal)).Select(p => p.Value).ToList();
        Assert.True(buckets.Count > 5);
        Assert.Equal(buckets.Order(), buckets);
        Assert.Equal(5, buckets[^1]);
        Assert.Contains("# TYPE vllm:time_to_first_token_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE vllm:num_requests_running gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE vllm:prompt_tokens_total counter\n", text, StringComparison.Ordinal);
    }
}
