using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;


namespace Tempo.Functional.Tests.LoadGen;

/// <summary>What the fake server saw of one request, on its own stopwatch (seconds since the server started).</summary>
internal sealed record ServedRequest(JsonElement Body, double ReceivedS, double EndedS, int Status, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// A tiny OpenAI-compatible server on 127.0.0.1 (Kestrel, port 0): streams <c>max_tokens</c> tokens as SSE with
/// controlled delays, or fails on demand. Not ours on purpose: the generator must only rely on the public contract.
/// </summary>
internal sealed class FakeOpenAiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<ServedRequest> _served = new();

    private FakeOpenAiServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    /// <summary>Delay before the first token.</summary>
    public TimeSpan FirstTokenDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Delay between chunks after the first.</summary>
    public TimeSpan ChunkDelay { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Tokens merged into one SSE chunk.</summary>
    public int TokensPerChunk { get; set; } = 1;

    /// <summary>Whether to send the usage chunk when asked.</summary>
    public bool SendUsage { get; set; } = true;

    /// <summary>Answer with this status instead of streaming, for requests the predicate picks.</summary>
    public Func<JsonElement, int?> FailWith { get; set; } = _ => null;

    /// <summary>Answer stream=true requests with one JSON body (a server that does not stream).</summary>
    public bool IgnoreStream { get; set; }

    /// <summary>After this many tokens, send llama.cpp's "error:" event and then [DONE], as it does for a prompt that does not fit.</summary>
    public int? ErrorEventAfter { get; set; }

    /// <summary>After this many tokens, send a standard SSE "event: error" with a data payload, then [DONE].</summary>
    public int? NamedErrorEventAfter { get; set; }

    /// <summary>After this many tokens, end the response body with no finish reason and no [DONE].</summary>
    public int? TruncateAfter { get; set; }

    /// <summary>Model ids listed at /v1/models.</summary>
    public IReadOnlyList<string> Models { get; set; } = ["fake-model"];

    public IReadOnlyList<ServedRequest> Served => [.. _served.OrderBy(s => s.ReceivedS)];

    public double NowS => _clock.Elapsed.TotalSeconds;

    public static async Task<FakeOpenAiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        FakeOpenAiServer? server = null;
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = server!.Models.Select(id => new { id, @object = "model" }) }));
        app.MapPost("/v1/completions", ctx => server!.ServeAsync(ctx, chat: false));
        app.MapPost("/v1/chat/completions", ctx => server!.ServeAsync(ctx, chat: true));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new FakeOpenAiServer(app, new Uri(address));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ServeAsync(HttpContext ctx, bool chat)
    {
        var received = NowS;
        using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
        var body = doc.RootElement.Clone();
        var headers = ctx.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        if (FailWith(body) is { } status)
        {
            ctx.Response.StatusCode = status;
            await ctx.Response.WriteAsync("{\"error\":{\"message\":\"injected failure\"}}");
            _served.Enqueue(new ServedRequest(body, received, NowS, status, headers));
            return;
        }

        var tokens = body.GetProperty("max_tokens").GetInt32();
        var usage = SendUsage && body.TryGetProperty("stream_options", out var so) && so.GetProperty("include_usage").GetBoolean();
        if (IgnoreStream)
        {
            await Task.Delay(FirstTokenDelay + (ChunkDelay * (tokens - 1)), ctx.RequestAborted);
            ctx.Response.ContentType = "application/json";
            var text = string.Concat(Enumerable.Repeat("tok ", tokens));
            await ctx.Response.WriteAsync(chat
                ? $"{{\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":\"{text}\"}},\"finish_reason\":\"length\"}}],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":{tokens},\"total_tokens\":{tokens + 3}}}}}"
                : $"{{\"choices\":[{{\"index\":0,\"text\":\"{text}\",\"finish_reason\":\"length\"}}],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":{tokens},\"total_tokens\":{tokens + 3}}}}}");
            _served.Enqueue(new ServedRequest(body, received, NowS, 200, headers));
            return;
        }

        ctx.Response.ContentType = "text/event-stream";
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        await Task.Delay(FirstTokenDelay, ctx.RequestAborted);
        var sent = 0;
        while (sent < tokens)
        {
            if (sent > 0)
            {
                await Task.Delay(ChunkDelay, ctx.RequestAborted);
            }

            if (sent == ErrorEventAfter || sent == NamedErrorEventAfter || sent == TruncateAfter)
            {
                if (sent == ErrorEventAfter)
                {
                    await ctx.Response.Body.WriteAsync("error: {\"code\":500,\"message\":\"the request exceeds the available context size\",\"type\":\"exceed_context_size_error\"}\n\n"u8.ToArray(), ctx.RequestAborted);
                    await WriteEventAsync(ctx, "[DONE]");
                }
                else if (sent == NamedErrorEventAfter)
                {
                    await ctx.Response.Body.WriteAsync("event: error\ndata: {\"error\":{\"message\":\"engine failed\"}}\n\n"u8.ToArray(), ctx.RequestAborted);
                    await WriteEventAsync(ctx, "[DONE]");
                }

                _served.Enqueue(new ServedRequest(body, received, NowS, 200, headers));
                return;
            }

            var n = Math.Min(TokensPerChunk, tokens - sent);
            sent += n;
            var text = string.Concat(Enumerable.Repeat("ab ", n));
            var finish = sent == tokens ? "\"length\"" : "null";
            var chunk = chat
                ? $"{{\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":{finish}}}],\"usage\":null}}"
                : $"{{\"object\":\"text_completion\",\"choices\":[{{\"index\":0,\"text\":\"{text}\",\"finish_reason\":{finish}}}],\"usage\":null}}";
            await WriteEventAsync(ctx, chunk);
        }

        if (usage)
        {
            await WriteEventAsync(ctx, string.Create(CultureInfo.InvariantCulture, $"{{\"choices\":[],\"usage\":{{\"prompt_tokens\":11,\"completion_tokens\":{tokens},\"total_tokens\":{tokens + 11}}}}}"));
        }

        await WriteEventAsync(ctx, "[DONE]");
        _served.Enqueue(new ServedRequest(body, received, NowS, 200, headers));
    }

    private static async Task WriteEventAsync(HttpContext ctx, string data)
    {
        await ctx.Response.Body.WriteAsync(Encoding.UTF8.GetBytes($"data: {data}\n\n"), ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }
}
