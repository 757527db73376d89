using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

using Tempo.Backends;
using Tempo.Server;
using Tempo.Simulation.Profiles;

namespace Tempo.Functional.Tests.Server;

/// <summary>A <see cref="TempoServer"/> on a free loopback port with the simulated engine, plus a raw HTTP client.</summary>
internal sealed class ServerFixture : IAsyncDisposable
{
    /// <summary>Time compression of the simulated engine: a ~20 ms modelled step takes ~1 ms.</summary>
    public const double Speed = 20;

    private ServerFixture(TempoServer server)
    {
        Server = server;
        Http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public TempoServer Server { get; }

    public HttpClient Http { get; }

    public string Model => Server.ModelName;

    public static async Task<ServerFixture> Start(Func<ServerOptions, ServerOptions>? configure = null)
    {
        var options = new ServerOptions { Port = 0, StatsInterval = TimeSpan.Zero, ShutdownGrace = TimeSpan.Zero, Policy = "sarathi" };
        options = configure?.Invoke(options) ?? options;
        return new ServerFixture(await TempoServer.StartAsync(options, new SimulatedBackend(CostProfile.Default, Speed)));
    }

    public static string ChatBody(int maxTokens = 8, string extra = "", bool stream = false) =>
        $$"""{"model":"sim-llama3.1-8b-a100","messages":[{"role":"user","content":"Say something."}],"max_tokens":{{maxTokens}},"stream":{{(stream ? "true" : "false")}}{{extra}}}""";

    public async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> Post(string path, string json, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return ((int)response.StatusCode, body, response);
    }

    /// <summary>Posts a streaming request and returns every SSE data payload in order ("[DONE]" included verbatim).</summary>
    public async Task<List<string>> Stream(string path, string json, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        return await ReadEvents(reader, int.MaxValue);
    }

    /// <summary>Reads SSE data payloads until the stream ends or <paramref name="max"/> were read; the reader is kept for more.</summary>
    public static async Task<List<string>> ReadEvents(StreamReader reader, int max)
    {
        var events = new List<string>();
        while (events.Count < max && await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(line["data: ".Length..]);
            }
            else
            {
                Assert.Equal("", line); // only data lines and the blank line ending each event
            }
        }

        return events;
    }

    public async Task<string> MetricsText()
    {
        using var response = await Http.GetAsync(new Uri("metrics", UriKind.Relative));
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Parses exposition text into series (name plus labels) → value, checking the format on the way.</summary>
    public static Dictionary<string, double> ParseMetrics(string text)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        var typed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.Equal(4, parts.Length);
                Assert.Contains(parts[3], new[] { "counter", "gauge", "histogram" });
                Assert.True(typed.Add(parts[2]), $"metric {parts[2]} typed twice");
                continue;
            }

            var space = line.LastIndexOf(' ');
            var key = line[..space];
            var name = key.Split('{')[0];
            var family = typed.FirstOrDefault(t => name == t || name == t + "_bucket" || name == t + "_sum" || name == t + "_count");
            Assert.True(family is not null, $"sample before its # TYPE line: {line}");
            Assert.True(double.TryParse(line[(space + 1)..].Replace("+Inf", "Infinity", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var value), line);
            Assert.True(series.TryAdd(key, value), $"duplicate series {key}");
        }

        return series;
    }

    public async Task<Dictionary<string, double>> Metrics() => ParseMetrics(await MetricsText());

    public static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < timeout, $"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    public static HttpRequestMessage StreamRequest(string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
