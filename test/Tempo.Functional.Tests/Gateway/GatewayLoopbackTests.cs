using System.Net;
using System.Text;
using System.Text.Json;

using Tempo.Backends;
using Tempo.Gateway;
using Tempo.Server;
using Tempo.Simulation.Profiles;

namespace Tempo.Functional.Tests.Gateway;

/// <summary>The gateway on loopback in front of simulated <c>tempo serve</c> replicas.</summary>
public sealed class GatewayLoopbackTests
{
    // A ~20 ms modelled step takes ~1 ms: requests finish quickly, and a long one still streams for a while.
    private const double Speed = 20;

    private static Task<TempoServer> Replica(double speed = Speed) => TempoServer.StartAsync(
        new ServerOptions { Port = 0, StatsInterval = TimeSpan.Zero, ShutdownGrace = TimeSpan.Zero, Policy = "tempo" },
        new SimulatedBackend(CostProfile.Default, speed));

    private static Task<TempoGateway> Gateway(IEnumerable<TempoServer> replicas, Func<GatewayOptions, GatewayOptions>? configure = null)
    {
        var options = new GatewayOptions
        {
            Backends = [.. replicas.Select(r => r.BaseAddress)],
            Port = 0,
            Router = "round-robin",
            ScrapeInterval = TimeSpan.FromMilliseconds(50),
            HealthInterval = TimeSpan.FromMilliseconds(200),
        };
        return TempoGateway.StartAsync(configure?.Invoke(options) ?? options);
    }

    private static StringContent Chat(int maxTokens, bool stream = false, string extra = "") => new(
        $$"""{"model":"sim-llama3.1-8b-a100","messages":[{"role":"user","content":"Say something."}],"max_tokens":{{maxTokens}},"stream":{{(stream ? "true" : "false")}}{{extra}}}""",
        Encoding.UTF8, "application/json");

    [Fact]
    public async Task TwoReplicas_EveryRequestAnsweredOnce_AndBothReplicasServe()
    {
        await using var a = await Replica();
        await using var b = await Replica();
        await using var gateway = await Gateway([a, b]);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => http.PostAsync("v1/chat/completions", Chat(4))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var r in responses)
        {
            var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(4, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }

        Assert.True(a.Engine.Steps > 0 && b.Engine.Steps > 0, "both replicas should have run steps");
        Assert.Contains("tempo_gateway_replica_forwarded_total", gateway.MetricsText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PerClassCounters_ScoreEachAnswerAsTheClientSawIt()
    {
        await using var a = await Replica();
        await using var gateway = await Gateway([a]);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        const string loose = ""","slo":{"class":"latency","ttft_ms":20000,"tbt_ms":10000}""";
        const string impossible = ""","slo":{"class":"throughput","deadline_ms":0.001}""";

        var answers = await Task.WhenAll([
            .. Enumerable.Range(0, 3).Select(_ => http.PostAsync("v1/chat/completions", Chat(5, stream: true, loose))),
            .. Enumerable.Range(0, 2).Select(_ => http.PostAsync("v1/chat/completions", Chat(5, extra: impossible))),
        ]);
        Assert.All(answers, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var r in answers)
        {
            await r.Content.ReadAsStringAsync();
        }

        // The gateway scores an answer once the replica's response has ended, just after the client read it.
        var until = DateTime.UtcNow.AddSeconds(20);
        while (Sample(gateway.MetricsText, "tempo_slo_missed_total{class=\"throughput\"}") < 2 && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        var text = gateway.MetricsText;
        Assert.Equal(3, Sample(text, "tempo_slo_attained_total{class=\"latency\"}"));
        Assert.Equal(0, Sample(text, "tempo_slo_missed_total{class=\"latency\"}"));
        Assert.Equal(2, Sample(text, "tempo_slo_missed_total{class=\"throughput\"}"));
        Assert.Equal(0, Sample(text, "tempo_service_gain_total{class=\"throughput\"}"));
        Assert.True(Sample(text, "tempo_service_gain_total{class=\"latency\"}") >= 3 * 8 * 5, text);
    }

    [Fact]
    public async Task SetPriority_TheRewrittenBodyIsServed()
    {
        await using var a = await Replica();
        await using var gateway = await Gateway([a], o => o with { SetPriority = true });
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        var answer = await http.PostAsync("v1/chat/completions", Chat(3));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(3, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    private static double Sample(string metrics, string series) =>
        metrics.Split('\n').Where(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();

    [Fact]
    public async Task Stream_PassesThroughTokenByToken()
    {
        await using var a = await Replica();
        await using var gateway = await Gateway([a]);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = Chat(6, stream: true) };

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("data: [DONE]", events[^1].Trim());
        Assert.True(events.Count(e => e.Contains("\"content\":\" tok\"", StringComparison.Ordinal)) == 6, string.Join("|", events));
    }

    [Fact]
    public async Task ReplicaDies_LaterRequestsGoToTheOther_NothingHangsOrIsAnsweredTwice()
    {
        await using var a = await Replica();
        var b = await Replica();
        await using var gateway = await Gateway([a, b]);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("v1/chat/completions", Chat(2))).StatusCode);

        await b.DisposeAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => http.PostAsync("v1/chat/completions", Chat(3))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var r in responses)
        {
            Assert.Equal(3, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }

        // The dead replica is out of the fleet: a forward that failed on it or a scrape that could not reach it said so.
        var dead = $"tempo_gateway_replica_healthy{{replica=\"{TempoGateway.IdOf(b.BaseAddress)}\"}} 0";
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!gateway.MetricsText.Contains(dead, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < until, gateway.MetricsText);
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task ReplicaDiesMidStream_TheStreamEnds_AndTheGatewayStaysUp()
    {
        var slow = await Replica(speed: 1);
        await using var gateway = await Gateway([slow]);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = Chat(2000, stream: true) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: ", await reader.ReadLineAsync(), StringComparison.Ordinal);

        await slow.DisposeAsync();
        var rest = await ReadToEnd(reader).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.DoesNotContain("[DONE]\n\ndata: [DONE]", rest, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("metrics")).StatusCode);
    }

    [Fact]
    public async Task FullQueue_Answers429QueueFull()
    {
        await using var a = await Replica(speed: 1);
        await using var gateway = await Gateway([a], o => o with { MaxQueue = 1, MaxInFlightPerReplica = 1 });
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        var pending = Enumerable.Range(0, 4).Select(_ => http.PostAsync("v1/chat/completions", Chat(50))).ToList();
        var responses = await Task.WhenAll(pending);

        var full = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(full);
        Assert.Contains("queue_full", await full[0].Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
    }

    [Fact]
    public async Task ModelsAndHealth_UnionOfTheReplicas_503WhenNoneIsLeft()
    {
        var a = await Replica();
        await using var gateway = await Gateway([a]);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        var models = JsonDocument.Parse(await http.GetStringAsync("v1/models")).RootElement.GetProperty("data");
        Assert.Equal(a.ModelName, models[0].GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("health")).StatusCode);

        await a.DisposeAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await http.GetAsync("health")).StatusCode == HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "the gateway should report itself unavailable once its only replica is gone");
            await Task.Delay(50);
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.PostAsync("v1/chat/completions", Chat(2))).StatusCode);
    }

    [Theory]
    [InlineData("{oops")]
    [InlineData("[1,2,3]")]
    [InlineData("""{"model":"sim-llama3.1-8b-a100","messages":"not an array","max_tokens":4}""")]
    [InlineData("""{"model":"sim-llama3.1-8b-a100","prompt":"hi","max_tokens":"four"}""")]
    [InlineData("""{"model":"sim-llama3.1-8b-a100","prompt":"hi","max_tokens":-5}""")]
    [InlineData("""{"model":"sim-llama3.1-8b-a100","prompt":"hi","max_tokens":4,"slo":{"class":"collective","ttft_ms":-1,"deadline_ms":1e400}}""")]
    [InlineData("""{"model":"sim-llama3.1-8b-a100","prompt":"hi","max_tokens":4,"slo":{"class":7,"stage":99999999999,"stage_count":"x"}}""")]
    [InlineData("""{"model":"sim-llama3.1-8b-a100","prompt":"\ud800","max_tokens":4}""")]
    public async Task HostileBody_TheReplicasOwnErrorPassesThrough_AndTheGatewayStaysHealthy(string body)
    {
        await using var a = await Replica();
        await using var gateway = await Gateway([a]);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        var response = await http.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.TryGetProperty("error", out _));
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("v1/chat/completions", Chat(2))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("health")).StatusCode);
    }

    [Fact]
    public async Task HugeBody_IsRefusedBeforeReachingAReplica_AndTheGatewayStaysHealthy()
    {
        await using var a = await Replica();
        await using var gateway = await Gateway([a]);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var huge = "{\"prompt\":\"" + new string('x', 5 * 1024 * 1024) + "\"}";

        // Kestrel answers 413 from the Content-Length and closes the connection; the client may see that as a broken pipe.
        try
        {
            var response = await http.PostAsync("v1/completions", new StringContent(huge, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }
        catch (HttpRequestException)
        {
            // Refused before the client finished sending.
        }

        Assert.Equal(0, a.Engine.Steps);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("v1/chat/completions", Chat(2))).StatusCode);
    }

    private static async Task<string> ReadToEnd(StreamReader reader)
    {
        try
        {
            return await reader.ReadToEndAsync();
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return "";
        }
    }
}
