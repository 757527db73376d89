using System.Net.Http.Headers;
using System.Text;


namespace Tempo.Functional.Tests.Server;

/// <summary><c>--shed-unattainable</c>: a request whose SLO cannot be met is answered 429 slo_unattainable, streams included.</summary>
public sealed class SheddingTests
{
    // A 1 ms TTFT cannot be met by any step of the simulated engine (a modelled step costs milliseconds).
    private const string Impossible = ""","slo":{"class":"latency","ttft_ms":1,"tbt_ms":100}""";

    private static Task<ServerFixture> Start() => ServerFixture.Start(o => o with { Policy = "tempo", ShedUnattainable = true });

    [Fact]
    public async Task Unattainable_NonStreaming_Answers429WithCodeAndRetryAfter()
    {
        await using var f = await Start();

        var (status, body, response) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(8, Impossible));

        Assert.Equal(429, status);
        Assert.Equal("slo_unattainable", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
    }

    [Fact]
    public async Task Unattainable_Streaming_Answers429BeforeAnyEvent()
    {
        await using var f = await Start();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(ServerFixture.ChatBody(8, Impossible, stream: true), Encoding.UTF8, "application/json"),
        };

        using var response = await f.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(429, (int)response.StatusCode);
        Assert.Equal(new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" }, response.Content.Headers.ContentType);
        Assert.Contains("slo_unattainable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Attainable_RequestsAreServed_AndOnlyTheShedOnesAreCounted()
    {
        await using var f = await Start();

        var (okStatus, _, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(4));
        var events = await f.Stream("v1/chat/completions", ServerFixture.ChatBody(4, stream: true));
        var (shedStatus, _, _) = await f.Post("v1/chat/completions", ServerFixture.ChatBody(8, Impossible));

        Assert.Equal(200, okStatus);
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(429, shedStatus);
        var m = await f.Metrics();
        Assert.Equal(1, m["tempo_requests_shed_total{class=\"latency\"}"]);
        Assert.Equal(0, m["tempo_requests_shed_total{class=\"throughput\"}"]);
        Assert.Equal(3, m[$"tempo_requests_accepted_total{{model_name=\"{f.Model}\"}}"]);
    }

    [Fact]
    public void PolicyThatCannotJudgeAttainability_IsRefusedAtStart()
    {
        var e = Assert.ThrowsAny<Exception>(() => ServerFixture.Start(o => o with { Policy = "sarathi", ShedUnattainable = true }).GetAwaiter().GetResult());

        Assert.Contains("cannot shed", e.Message, StringComparison.Ordinal);
    }
}
