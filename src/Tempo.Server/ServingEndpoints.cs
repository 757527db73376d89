using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

using Tempo.Core;

namespace Tempo.Server;

/// <summary>The HTTP handlers: OpenAI generation endpoints (JSON or SSE), models, health, metrics, API key.</summary>
internal sealed class ServingEndpoints(EngineHost host, Admission admission, ServingMetrics metrics, ServerOptions options, string modelName, ILogger logger)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    private readonly byte[]? _expectedAuth = options.ApiKey is { } key ? Encoding.UTF8.GetBytes("Bearer " + key) : null;

    private enum Api
    {
        Chat,
        Completion,
    }

    /// <summary>
    /// Middleware, after routing: with an API key configured, an endpoint marked <see cref="ApiKeyRequired"/> needs
    /// <c>Authorization: Bearer &lt;key&gt;</c>. It checks the endpoint routing actually matched, so no spelling of
    /// the path (case, escapes, slashes) that reaches a protected handler can skip the key.
    /// </summary>
    public async Task RequireApiKey(HttpContext context, RequestDelegate next)
    {
        if (_expectedAuth is not null && context.GetEndpoint()?.Metadata.GetMetadata<ApiKeyRequired>() is not null)
        {
            var given = Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString());
            if (!CryptographicOperations.FixedTimeEquals(given, _expectedAuth))
            {
                metrics.OnRejected("unauthorized");
                await WriteError(context, new ApiError(StatusCodes.Status401Unauthorized, "Invalid or missing API key: send 'Authorization: Bearer <key>'.", "invalid_request_error", null, "invalid_api_key"));
                return;
            }
        }

        await next(context);
    }

    public async Task Chat(HttpContext context)
    {
        if (await ReadBody(context, WireJson.Default.ChatCompletionRequest) is not { } body)
        {
            return;
        }

        await Admit(context, Api.Chat, () => admission.Chat(body, context.Request.Headers));
    }

    public async Task Completion(HttpContext context)
    {
        if (await ReadBody(context, WireJson.Default.CompletionRequest) is not { } body)
        {
            return;
        }

        await Admit(context, Api.Completion, () => admission.Completion(body, context.Request.Headers));
    }

    public Task Models(HttpContext context)
    {
        var list = new ModelList
        {
            Data = [new ModelCard { Id = modelName, Created = Process.StartedUnix, MaxModelLen = host.Config.MaxModelLen }],
        };
        return context.Response.WriteAsJsonAsync(list, WireJson.Default.ModelList, cancellationToken: context.RequestAborted);
    }

    public Task Health(HttpContext context)
    {
        // Routers take a replica out of rotation on a non-200, which is what a draining server wants.
        var accepting = host.Snapshot.Accepting;
        context.Response.StatusCode = accepting ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(accepting ? """{"status":"ok"}""" : """{"status":"unavailable"}""", context.RequestAborted);
    }

    public Task Metrics(HttpContext context)
    {
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        return context.Response.WriteAsync(metrics.Render(host.Snapshot, host.Config.BlockSize, host.Config.GpuBlocks), context.RequestAborted);
    }

    private async Task<T?> ReadBody<T>(HttpContext context, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            if (await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted) is { } body)
            {
                return body;
            }

            await Refuse(context, ApiError.Invalid("the request body must be a JSON object"));
        }
        catch (JsonException e)
        {
            await Refuse(context, ApiError.Invalid("malformed JSON body: " + e.Message.ReplaceLineEndings(" ")));
        }
        catch (InvalidOperationException e) when (e.InnerException is DecoderFallbackException or EncoderFallbackException || e.Message.Contains("invalid UTF", StringComparison.OrdinalIgnoreCase))
        {
            // System.Text.Json reports undecodable text (invalid UTF-8, a lone surrogate escape) this way.
            await Refuse(context, ApiError.Invalid("the request body contains invalid text: " + e.Message.ReplaceLineEndings(" "), null, "invalid_encoding"));
        }

        return null;
    }

    private async Task Admit(HttpContext context, Api api, Func<Admitted> admit)
    {
        Admitted admitted;
        try
        {
            admitted = admit();
        }
        catch (ApiException e)
        {
            await Refuse(context, e.Error);
            return;
        }

        var refusal = host.TryAccept(admitted.Spec, admitted.JobKey, out var stream);
        switch (refusal)
        {
            case Refusal.QueueFull:
                metrics.OnRejected("queue_full");
                // One second is about how long a full queue of interactive requests takes to move on.
                context.Response.Headers.RetryAfter = "1";
                await WriteError(context, new ApiError(StatusCodes.Status429TooManyRequests, $"The server's queue is full ({options.MaxQueue} waiting requests); retry later.", "rate_limit_error", null, "queue_full"));
                return;
            case Refusal.ShuttingDown or Refusal.EngineFailed:
                metrics.OnRejected(refusal == Refusal.ShuttingDown ? "shutting_down" : "engine_failed");
                await WriteError(context, new ApiError(StatusCodes.Status503ServiceUnavailable, refusal == Refusal.ShuttingDown ? "The server is shutting down." : "The engine has failed; see the server log.", "server_error", null, "unavailable"));
                return;
        }

        metrics.OnAccepted();
        var response = new Response(api, stream!.Id, modelName, admitted);
        if (admitted.Stream)
        {
            await StreamEvents(context, stream, response);
        }
        else
        {
            await Collect(context, stream, response);
        }
    }

    private async Task Collect(HttpContext context, RequestStream stream, Response response)
    {
        var text = new StringBuilder();
        RequestOutcome? outcome = null;
        try
        {
            var reader = stream.Events;
            while (outcome is null && await reader.WaitToReadAsync(context.RequestAborted))
            {
                while (reader.TryRead(out var e))
                {
                    if (e.End is { } end)
                    {
                        outcome = end;
                        break;
                    }

                    text.Append(e.Text);
                }
            }
        }
        catch (OperationCanceledException)
        {
            Disconnected(stream.Id);
            return;
        }

        if (outcome is null)
        {
            throw new InvalidOperationException($"request {stream.Id} ended without a terminal event");
        }

        if (!outcome.Record.Completed)
        {
            if (SloShedding.IsShed(outcome.Record.Detail))
            {
                await AnswerShed(context, outcome);
                return;
            }

            // A partial answer under an unknown finish reason would break OpenAI clients; say what happened instead.
            var rejected = outcome.Record.Reason == FinishReason.Rejected;
            await WriteError(context, new ApiError(StatusCodes.Status503ServiceUnavailable,
                $"The request was {(rejected ? "rejected by the scheduler" : "aborted")}: {outcome.Record.Detail}", "server_error", null, rejected ? "rejected" : "aborted"));
            return;
        }

        try
        {
            await (response.Api == Api.Chat
                ? context.Response.WriteAsJsonAsync(response.ChatBody(text.ToString(), outcome), WireJson.Default.ChatCompletionResponse, cancellationToken: context.RequestAborted)
                : context.Response.WriteAsJsonAsync(response.CompletionBody(text.ToString(), outcome), WireJson.Default.CompletionResponse, cancellationToken: context.RequestAborted));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client left after the request ended: nothing to abort, nothing more to say.
        }
    }

    private async Task StreamEvents(HttpContext context, RequestStream stream, Response response)
    {
        if (options.ShedUnattainable && await ShedBeforeFirstToken(context, stream))
        {
            return;
        }

        var http = context.Response;
        http.StatusCode = StatusCodes.Status200OK;
        http.ContentType = "text/event-stream";
        http.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = http.BodyWriter;
        var ct = context.RequestAborted;
        try
        {
            if (response.Api == Api.Chat)
            {
                // OpenAI's first chunk announces the role; it also tells the client the request was accepted.
                WriteEvent(writer, response.ChatChunk(new ChatDelta { Role = "assistant", Content = "" }, null, null), WireJson.Default.ChatCompletionChunk);
            }

            await writer.FlushAsync(ct);
            var reader = stream.Events;
            while (await reader.WaitToReadAsync(ct))
            {
                while (reader.TryRead(out var e))
                {
                    if (e.End is { } outcome)
                    {
                        WriteEnd(writer, response, outcome);
                        await writer.FlushAsync(ct);
                        return;
                    }

                    // One chunk per token keeps inter-token latency measurable by clients; flush once per batch read.
                    if (response.Api == Api.Chat)
                    {
                        WriteEvent(writer, response.ChatChunk(new ChatDelta { Content = e.Text }, null, null), WireJson.Default.ChatCompletionChunk);
                    }
                    else
                    {
                        WriteEvent(writer, response.CompletionChunk(e.Text!, null, null), WireJson.Default.CompletionResponse);
                    }
                }

                await writer.FlushAsync(ct);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            Disconnected(stream.Id);
        }
    }

    // With shedding on, a stream's headers wait for its first event: a request shed before its first token is then
    // still answered 429, which a client or router can act on, instead of a 200 stream that ends in an error.
    private async Task<bool> ShedBeforeFirstToken(HttpContext context, RequestStream stream)
    {
        try
        {
            if (!await stream.Events.WaitToReadAsync(context.RequestAborted))
            {
                return false;
            }
        }
        catch (OperationCanceledException)
        {
            Disconnected(stream.Id);
            return true;
        }

        if (stream.Events.TryPeek(out var first) && first.End is { } end && !end.Record.Completed && SloShedding.IsShed(end.Record.Detail))
        {
            stream.Events.TryRead(out _);
            await AnswerShed(context, end);
            return true;
        }

        return false;
    }

    private static async Task AnswerShed(HttpContext context, RequestOutcome outcome)
    {
        // The next second is when the engine's queue may have moved on; a router would rather try another replica now.
        context.Response.Headers.RetryAfter = "1";
        await WriteError(context, new ApiError(StatusCodes.Status429TooManyRequests,
            $"The request's SLO cannot be met on this server ({outcome.Record.Detail}); retry later or elsewhere.", "rate_limit_error", null, SloShedding.Code));
    }

    private static void WriteEnd(PipeWriter writer, Response response, RequestOutcome outcome)
    {
        var finish = Response.FinishReason(outcome);
        var tempo = response.Tempo(outcome);
        if (response.Api == Api.Chat)
        {
            WriteEvent(writer, response.ChatChunk(new ChatDelta(), finish, tempo), WireJson.Default.ChatCompletionChunk);
            if (response.Admitted.IncludeUsage)
            {
                WriteEvent(writer, response.ChatUsageChunk(outcome, tempo), WireJson.Default.ChatCompletionChunk);
            }
        }
        else
        {
            WriteEvent(writer, response.CompletionChunk("", finish, tempo), WireJson.Default.CompletionResponse);
            if (response.Admitted.IncludeUsage)
            {
                WriteEvent(writer, response.CompletionUsageChunk(outcome, tempo), WireJson.Default.CompletionResponse);
            }
        }

        writer.Write(Done);
    }

    private static void WriteEvent<T>(PipeWriter writer, T value, JsonTypeInfo<T> type)
    {
        writer.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(writer))
        {
            JsonSerializer.Serialize(json, value, type);
        }

        writer.Write(EventEnd);
    }

    private void Disconnected(long id)
    {
        ServerLog.ClientGone(logger, id);
        host.Abort(id, "client disconnected");
    }

    private async Task Refuse(HttpContext context, ApiError error)
    {
        metrics.OnRejected("invalid");
        await WriteError(context, error);
    }

    /// <summary>Writes an OpenAI-style error body with <paramref name="error"/>'s status (nothing if the response started).</summary>
    internal static async Task WriteError(HttpContext context, ApiError error)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = error.Status;
        var body = new ErrorResponse { Error = new ErrorBody { Message = error.Message, Type = error.Type, Param = error.Param, Code = error.Code } };
        try
        {
            await context.Response.WriteAsJsonAsync(body, WireJson.Default.ErrorResponse, cancellationToken: context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Client already gone.
        }
    }

    /// <summary>Builds the wire objects of one request's answer.</summary>
    private sealed class Response(Api api, long id, string model, Admitted admitted)
    {
        private readonly string _id = (api == Api.Chat ? "chatcmpl-" : "cmpl-") + id.ToString(CultureInfo.InvariantCulture);
        private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        public Api Api { get; } = api;

        public Admitted Admitted { get; } = admitted;

        public static string FinishReason(RequestOutcome outcome) => outcome.Record.Reason switch
        {
            Core.FinishReason.Stop => "stop",
            Core.FinishReason.Length => "length",
            _ => "abort",
        };

        public TempoInfo Tempo(RequestOutcome o)
        {
            var r = o.Record;
            var slo = r.Spec.Slo;
            return new TempoInfo
            {
                RequestId = id,
                Class = r.Spec.Class.ToString().ToLowerInvariant(),
                TtftS = r.TtftS,
                E2eS = r.E2eS,
                MaxTbtS = r.TbtGapsS().DefaultIfEmpty(0).Max(),
                SloMet = o.SloMet,
                ServiceGain = o.ServiceGain,
                MaxServiceGain = o.MaxServiceGain,
                Finish = ServingMetrics.ReasonLabel(r.Reason),
                Detail = r.Detail,
                Slo = new SloOut { TtftMs = slo.TtftS * 1000, TbtMs = slo.TbtS * 1000, DeadlineMs = slo.DeadlineS * 1000 },
            };
        }

        public ChatCompletionResponse ChatBody(string text, RequestOutcome o) => new()
        {
            Id = _id,
            Created = _created,
            Model = model,
            Choices = [new ChatChoiceOut { Message = new ChatMessageOut { Content = text }, FinishReason = FinishReason(o) }],
            Usage = Usage(o),
            Tempo = Tempo(o),
        };

        public CompletionResponse CompletionBody(string text, RequestOutcome o) => new()
        {
            Id = _id,
            Created = _created,
            Model = model,
            Choices = [new CompletionChoice { Text = text, FinishReason = FinishReason(o) }],
            Usage = Usage(o),
            Tempo = Tempo(o),
        };

        public ChatCompletionChunk ChatChunk(ChatDelta delta, string? finish, TempoInfo? tempo) => new()
        {
            Id = _id,
            Created = _created,
            Model = model,
            Choices = [new ChatChunkChoice { Delta = delta, FinishReason = finish }],
            Tempo = tempo,
        };

        public ChatCompletionChunk ChatUsageChunk(RequestOutcome o, TempoInfo tempo) => new()
        {
            Id = _id,
            Created = _created,
            Model = model,
            Choices = [],
            Usage = Usage(o),
            Tempo = tempo,
        };

        public CompletionResponse CompletionChunk(string text, string? finish, TempoInfo? tempo) => new()
        {
            Id = _id,
            Created = _created,
            Model = model,
            Choices = [new CompletionChoice { Text = text, FinishReason = finish }],
            Tempo = tempo,
        };

        public CompletionResponse CompletionUsageChunk(RequestOutcome o, TempoInfo tempo) => new()
        {
            Id = _id,
            Created = _created,
            Model = model,
            Choices = [],
            Usage = Usage(o),
            Tempo = tempo,
        };

        private static UsageOut Usage(RequestOutcome o) => new()
        {
            PromptTokens = o.Record.Spec.PromptTokens,
            CompletionTokens = o.Record.TokenTimesS.Count,
            TotalTokens = o.Record.Spec.PromptTokens + o.Record.TokenTimesS.Count,
        };
    }

    private static class Process
    {
        public static readonly long StartedUnix = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }
}

/// <summary>Endpoint metadata: the endpoint needs the API key when one is configured.</summary>
internal sealed class ApiKeyRequired
{
    public static readonly ApiKeyRequired Instance = new();
}
