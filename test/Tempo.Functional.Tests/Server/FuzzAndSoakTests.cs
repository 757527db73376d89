using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

using CsCheck;

using Xunit.Abstractions;


namespace Tempo.Functional.Tests.Server;

/// <summary>Random bodies and a mixed soak of good, cancelled and hostile requests against one server.</summary>
public sealed class FuzzAndSoakTests(ITestOutputHelper output)
{
    private static readonly string[] Fields =
    [
        "model", "messages", "prompt", "max_tokens", "max_completion_tokens", "stream", "stream_options", "include_usage", "temperature",
        "top_p", "seed", "n", "stop", "ignore_eos", "priority", "slo", "class", "ttft_ms", "tbt_ms", "deadline_ms", "job_id", "stage",
        "stage_count", "app", "role", "content", "type", "text", "zzz",
    ];

    private static readonly Gen<string> Scalar = Gen.OneOf(
        Gen.Int.Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.Int[-3, 40].Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "1e999"),
        Gen.OneOf("null", "true", "false", "\"\"", "\"user\"", "\"latency\"", "\"collective\"", "\"text\"", "\"\\ud800\"", "\"\\u0000\"", "1e400", "-0"),
        Gen.String[0, 20].Select(s => JsonSerializer.Serialize(s)));

    private static readonly Gen<string> Json = Value(3);

    // Near-valid requests with one field replaced at random reach deeper into admission than pure noise.
    private static readonly Gen<string> NearValid = Gen.Select(Gen.OneOf(Fields), Json, Gen.Bool, (field, value, chat) =>
        chat
            ? $$"""{"messages":[{"role":"user","content":"hi"}],"max_tokens":3,"{{field}}":{{value}}}"""
            : $$"""{"prompt":"hi","max_tokens":3,"{{field}}":{{value}}}""");

    [Fact]
    public async Task RandomJsonBodies_NeverA5xxNeverAHang_EngineStaysAlive()
    {
        await using var f = await ServerFixture.Start(o => o with { Policy = "tempo", DefaultMaxTokens = 8 });
        var bodies = Gen.Select(Gen.OneOf(Json, NearValid, NearValid), Gen.Bool, (body, chat) => (body, chat));

        await bodies.SampleAsync(async sample =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var path = sample.chat ? "/v1/chat/completions" : "/v1/completions";
            var answer = await RawHttp.SendAsync(f.Server.BaseAddress, "POST", path, Encoding.UTF8.GetBytes(sample.body), [], timeout.Token);
            Assert.True(answer.Status < 500, $"{answer.Status} for {sample.body}: {answer.Body}");
        }, iter: 300, threads: 1);

        Assert.True(f.Server.Engine.Accepting);
        await HostileInputTests.AssertServes(f, null);
    }

    [Fact]
    public async Task Soak_RandomArrivalsCancelsAndHostileRequests_EveryAcceptedRequestEndsOnceNothingLeaks()
    {
        await using var f = await ServerFixture.Start(o => o with { Policy = "tempo", MaxQueue = 64 });
        var hostile = HostileCases.Open().Where(c => c.Body is null || c.Body.Length < 100_000).ToList();
        var random = new Random(20261202);
        var plan = Enumerable.Range(0, 400).Select(i => (Kind: random.NextDouble(), Tokens: random.Next(1, 40), Stream: random.Next(2) == 0, CancelMs: random.Next(1, 60), Job: random.Next(30), Hostile: random.Next(hostile.Count), GapMs: random.Next(0, 8))).ToList();
        var outcomes = new List<Task<string>>();
        foreach (var p in plan)
        {
            outcomes.Add(p.Kind switch
            {
                < 0.1 => Hostile(f, hostile[p.Hostile]),
                < 0.25 => Normal(f, p.Tokens, p.Stream, p.Job, cancelAfter: TimeSpan.FromMilliseconds(p.CancelMs)),
                _ => Normal(f, p.Tokens, p.Stream, p.Job, cancelAfter: null),
            });
            await Task.Delay(p.GapMs);
        }

        var results = await Task.WhenAll(outcomes);
        await ServerFixture.WaitUntil(() => f.Server.Engine.Live == 0, TimeSpan.FromSeconds(20), "every request to end");

        var metrics = await f.Metrics();
        var accepted = metrics.Single(kv => kv.Key.StartsWith("tempo_requests_accepted_total", StringComparison.Ordinal)).Value;
        var ended = metrics.Where(kv => kv.Key.StartsWith("tempo_requests_ended_total", StringComparison.Ordinal)).Sum(kv => kv.Value);
        var answered = results.Count(r => r is "finished" or "aborted by server");
        output.WriteLine($"soak: {plan.Count} requests, accepted {accepted}, ended {ended}, lost {accepted - ended}, "
            + string.Join(", ", results.GroupBy(r => r).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"))
            + $", KV in use {f.Server.Engine.KvUsage}");
        Assert.Equal(accepted, ended);
        Assert.True(answered <= accepted, $"{answered} answered but {accepted} accepted");
        Assert.DoesNotContain("duplicate", results);
        Assert.DoesNotContain("server error", results);
        Assert.Equal(0, f.Server.Engine.KvUsage);
        Assert.Equal(0, f.Server.Engine.Running + f.Server.Engine.Waiting + f.Server.Engine.Swapped);
        Assert.True(results.Count(r => r == "finished") > 200, string.Join(",", results.GroupBy(r => r).Select(g => $"{g.Key}={g.Count()}")));
        await HostileInputTests.AssertServes(f, null);
    }

    private static Gen<string> Value(int depth)
    {
        if (depth == 0)
        {
            return Scalar;
        }

        var inner = Value(depth - 1);
        return Gen.Frequency(
            (4, Scalar),
            (1, inner.Array[0, 4].Select(a => "[" + string.Join(',', a) + "]")),
            (2, Gen.Select(Gen.OneOf(Fields).Array[0, 5], inner.Array[5], (keys, values) =>
                "{" + string.Join(',', keys.Distinct().Select((k, i) => $"\"{k}\":{values[i]}")) + "}")));
    }

    private static async Task<string> Hostile(ServerFixture f, HostileCase c)
    {
        var answer = await RawHttp.SendAsync(f.Server.BaseAddress, c.Method, c.Path, c.Body, c.Headers, CancellationToken.None);
        return answer.Status == c.Status ? "refused" : $"server error {answer.Status}";
    }

    private static async Task<string> Normal(ServerFixture f, int tokens, bool stream, int job, TimeSpan? cancelAfter)
    {
        var slo = job < 5
            ? $$""","slo":{"class":"collective","job_id":"soak-{{job}}","stage":0,"stage_count":2,"deadline_ms":5000}"""
            : job < 15 ? ""","slo":{"class":"throughput","deadline_ms":3000}""" : "";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(ServerFixture.ChatBody(tokens, slo, stream), Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(stream ? "text/event-stream" : "application/json"));
        using var cancel = cancelAfter is { } after ? new CancellationTokenSource(after) : new CancellationTokenSource();
        try
        {
            using var response = await f.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            var status = (int)response.StatusCode;
            if (status == 429)
            {
                return "queue full";
            }

            if (status >= 500)
            {
                return status == 503 ? "aborted by server" : "server error";
            }

            var text = await response.Content.ReadAsStringAsync(cancel.Token);
            if (!stream)
            {
                return JsonDocument.Parse(text).RootElement.TryGetProperty("choices", out _) ? "finished" : "server error";
            }

            var finishes = text.Split('\n').Count(l => l.Contains("\"finish_reason\":\"", StringComparison.Ordinal));
            var done = text.Split('\n').Count(l => l == "data: [DONE]");
            return finishes == 1 && done == 1 ? "finished" : finishes > 1 || done > 1 ? "duplicate" : "server error";
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
        {
            return "cancelled";
        }
    }
}
