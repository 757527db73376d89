using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

using Tempo.Core;

namespace Tempo.LoadGen;

/// <summary>
/// Sends one streaming OpenAI request and times it from the client: the send is the arrival, each SSE <c>data:</c>
/// chunk with output text is timed when its line is read, and <c>[DONE]</c> (or the end of the stream) is the finish.
/// Never throws for server or network trouble: every outcome is a <see cref="CallObservation"/>.
/// </summary>
/// <remarks>
/// A send on the pooled client that fails with a connection error before any response arrived is sent once more on
/// <paramref name="fresh"/>, whose connections are never reused, and the observation says so
/// (<see cref="CallObservation.Retried"/>). The usual cause is a keep-alive connection the server had closed, so the
/// request never reached it. Which connection a send went out on cannot be told from here: the connection pool hands
/// a new connection to whichever request waits for one, not to the request that opened it (measured against
/// llama.cpp's server at 5 requests/s: every such failure was marked as sent on its own new connection, and every
/// retry succeeded). A failure on the fresh connection is final. Retries are counted apart, so nothing is hidden.
/// </remarks>
internal sealed class OpenAiCall(HttpClient http, HttpClient fresh, BenchOptions options, string model, string jobTag, Func<double> now)
{
    private const int MaxErrorBodyChars = 200;

    private readonly Uri _uri = ServerUrl.Combine(options.BaseUrl, RequestBody.PathOf(options.Endpoint));

    /// <summary>Sends <paramref name="spec"/> now and waits for its whole response (bounded by the timeout).</summary>
    public async Task<CallObservation> SendAsync(RequestSpec spec, TimeProvider time, CancellationToken runToken)
    {
        var body = RequestBody.Build(spec, options.Endpoint, model, options.SendSlo, jobTag, options.PromptTokenIds);
        using var timeout = new CancellationTokenSource(options.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(runToken, timeout.Token);
        var firstSendS = now();
        var first = await SendOnceAsync(http, spec, body, firstSendS, timeout, runToken, linked.Token).ConfigureAwait(false);
        if (!first.FailedBeforeResponse)
        {
            return first.Observation;
        }

        // Latency counts from the first attempt: the client waited for that one too.
        var retry = await SendOnceAsync(fresh, spec, body, firstSendS, timeout, runToken, linked.Token).ConfigureAwait(false);
        return retry.Observation with { Retried = true };
    }

    private async Task<(CallObservation Observation, bool FailedBeforeResponse)> SendOnceAsync(HttpClient client, RequestSpec spec, byte[] body, double firstSendS, CancellationTokenSource timeout, CancellationToken runToken, CancellationToken token)
    {
        var sendS = firstSendS;
        HttpRequestMessage? sent = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _uri) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            if (options.ApiKey is { } key)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            if (options.SendSlo)
            {
                foreach (var (name, value) in RequestBody.SloHeaders(spec))
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }
            }

            sent = request;
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
            sent = null; // a response arrived: whatever fails from here on is the server's
            if (!response.IsSuccessStatusCode)
            {
                var text = await ReadErrorBodyAsync(response, token).ConfigureAwait(false);
                return (CallObservation.Failed(sendS, now(), $"http {(int)response.StatusCode}", text), false);
            }

            await using var stream = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
            var isJson = response.Content.Headers.ContentType?.MediaType is "application/json";
            var parse = new StreamState();
            try
            {
                if (isJson)
                {
                    // The server ignored stream=true: the whole answer arrives at once, so every token is timed at the end.
                    await ReadJsonAsync(stream, parse, token).ConfigureAwait(false);
                }
                else
                {
                    await ReadSseAsync(stream, parse, token).ConfigureAwait(false);
                }
            }
            catch (JsonException e)
            {
                return (CallObservation.Failed(sendS, now(), "bad response", OneLine(e.Message), parse.Tokens(now())), false);
            }

            return (parse.Finish(sendS, now(), isJson), false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return (CallObservation.Failed(sendS, now(), "timeout", $"no complete response within {options.Timeout.TotalSeconds:0.###} s"), false);
        }
        catch (OperationCanceledException) when (runToken.IsCancellationRequested)
        {
            return (CallObservation.Failed(sendS, now(), "cancelled", "the benchmark was cancelled"), false);
        }
        catch (HttpRequestException e)
        {
            var (kind, detail) = Classify(e);
            return (CallObservation.Failed(sendS, now(), kind, detail), IsConnectionLost(sent, e));
        }
        catch (IOException e)
        {
            return (CallObservation.Failed(sendS, now(), "stream broken", OneLine(e.Message)), false);
        }
    }

    /// <summary>
    /// True when a send failed before any response because its connection was lost (not refused): a pooled keep-alive
    /// connection the server had closed, the usual case, or one it closed at once.
    /// </summary>
    private static bool IsConnectionLost(HttpRequestMessage? request, HttpRequestException e) =>
        request is not null
        && e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.ResponseEnded
        && e.InnerException is not SocketException { SocketErrorCode: SocketError.ConnectionRefused };

    private static (string Kind, string Detail) Classify(HttpRequestException e)
    {
        if (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
        {
            return ("connection refused", OneLine(e.Message));
        }

        return e.HttpRequestError switch
        {
            HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError => ("connection error", OneLine(e.Message)),
            HttpRequestError.ResponseEnded => ("stream broken", OneLine(e.Message)),
            _ => ("http error", OneLine(e.Message)),
        };
    }

    private static async Task<string> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken token)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(token).ConfigureAwait(false);
            text = OneLine(text);
            return text.Length == 0 ? response.ReasonPhrase ?? "no body" : text.Length > MaxErrorBodyChars ? text[..MaxErrorBodyChars] + "…" : text;
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return response.ReasonPhrase ?? "no body";
        }
    }

    private async Task ReadSseAsync(Stream stream, StreamState state, CancellationToken token)
    {
        state.Streamed = true;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var data = new StringBuilder();
        var dataTime = 0.0;
        var errorEvent = false;
        while (await reader.ReadLineAsync(token).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0 && (errorEvent ? state.ErrorEvent(data.ToString()) : Dispatch(data.ToString(), dataTime, state)))
                {
                    return;
                }

                data.Clear();
                errorEvent = false;
                continue;
            }

            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                // A named "error" event (standard SSE) carries an error payload in its data lines.
                errorEvent = line.AsSpan(6).Trim().SequenceEqual("error");
                continue;
            }

            if (line.StartsWith("error:", StringComparison.Ordinal))
            {
                // llama.cpp's server reports a failure mid-stream as an "error:" field, then may still send [DONE].
                state.ErrorEvent(line[6..].Trim());
                continue;
            }

            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue; // comments (":"), id:, retry: carry nothing we time.
            }

            if (data.Length == 0)
            {
                // Time the event by its first data line: that is when its bytes reached the client.
                dataTime = now();
            }
            else
            {
                data.Append('\n');
            }

            data.Append(line.AsSpan(line.Length > 5 && line[5] == ' ' ? 6 : 5));

            // Servers end each event with a blank line; dispatching [DONE] right away keeps E2E from waiting for it.
            if (!errorEvent && data.Length == 6 && data.ToString() == "[DONE]")
            {
                Dispatch("[DONE]", dataTime, state);
                return;
            }
        }

        if (data.Length > 0)
        {
            if (errorEvent)
            {
                state.ErrorEvent(data.ToString());
            }
            else
            {
                Dispatch(data.ToString(), dataTime, state);
            }
        }
    }

    /// <summary>Handles one SSE event; true at <c>[DONE]</c>.</summary>
    private static bool Dispatch(string payload, double timeS, StreamState state)
    {
        if (payload == "[DONE]")
        {
            state.Done = true;
            return true;
        }

        using var doc = JsonDocument.Parse(payload);
        state.Absorb(doc.RootElement, timeS, fromStream: true);
        return false;
    }

    private async Task ReadJsonAsync(Stream stream, StreamState state, CancellationToken token)
    {
        using var doc = await JsonDocument.ParseAsync(stream, cancellationToken: token).ConfigureAwait(false);
        state.Absorb(doc.RootElement, now(), fromStream: false);
        state.Done = true;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    /// <summary>What the parser has seen of one response so far.</summary>
    private sealed class StreamState
    {
        private readonly List<ContentChunk> _chunks = [];

        public bool Done { get; set; }

        /// <summary>Read as server-sent events: a stream is complete only with a finish reason.</summary>
        public bool Streamed { get; set; }

        /// <summary>Records an error event's payload (JSON with a message, or plain text); never ends the read.</summary>
        public bool ErrorEvent(string payload)
        {
            string message;
            try
            {
                using var doc = JsonDocument.Parse(payload);
                var root = doc.RootElement;
                var error = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var inner) ? inner : root;
                message = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) ? m.ToString() : error.ToString();
            }
            catch (JsonException)
            {
                message = payload;
            }

            Error ??= message.Length == 0 ? "error event" : message;
            return false;
        }

        public string? FinishReasonText { get; private set; }

        public string? Error { get; private set; }

        public int? CompletionTokens { get; private set; }

        public int? PromptTokens { get; private set; }

        public void Absorb(JsonElement root, double timeS, bool fromStream)
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException($"expected a JSON object, got {root.ValueKind}");
            }

            if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
            {
                Error ??= error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) ? m.ToString() : error.ToString();
                return;
            }

            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                CompletionTokens = Int(usage, "completion_tokens") ?? CompletionTokens;
                PromptTokens = Int(usage, "prompt_tokens") ?? PromptTokens;
            }

            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            foreach (var choice in choices.EnumerateArray())
            {
                // We send n = 1; a server that still sends other indexes is not our concern.
                if (choice.TryGetProperty("index", out var index) && index.ValueKind == JsonValueKind.Number && index.GetInt32() != 0)
                {
                    continue;
                }

                var chars = TextLength(choice, fromStream);
                if (chars > 0)
                {
                    _chunks.Add(new ContentChunk(timeS, chars));
                }

                if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
                {
                    FinishReasonText = finish.GetString();
                }
            }
        }

        public double[] Tokens(double endS) => TokenAttribution.Times(_chunks, CompletionTokens, endS);

        public CallObservation Finish(double sendS, double endS, bool wholeResponse)
        {
            if (Error is { } error)
            {
                return CallObservation.Failed(sendS, endS, "server error", OneLine(error), Tokens(endS)) with { ContentChunks = _chunks.Count };
            }

            // A JSON (non-streamed) answer has one "chunk" of all the text: its usage count, if any, is the truth.
            var tokens = wholeResponse && CompletionTokens is null && _chunks.Count > 0 ? [endS] : Tokens(endS);
            if (FinishReasonText is null && (Streamed || !Done))
            {
                // A stream that ends (even with [DONE]) before any choice finished was cut short.
                var why = Done ? "the stream sent [DONE] without a finish_reason" : "the stream ended before [DONE] or a finish_reason";
                return CallObservation.Failed(sendS, endS, "stream incomplete", why, tokens) with { ContentChunks = _chunks.Count };
            }

            var reason = FinishReasonText switch
            {
                "length" => FinishReason.Length,
                "abort" or "error" or "cancelled" => FinishReason.Aborted,
                _ => FinishReason.Stop,
            };
            var detail = reason == FinishReason.Aborted ? $"server finished with '{FinishReasonText}'" : null;
            return new CallObservation(sendS, tokens, endS, reason, detail, reason == FinishReason.Aborted ? "server abort" : null, _chunks.Count, CompletionTokens, PromptTokens);
        }

        private static int TextLength(JsonElement choice, bool fromStream)
        {
            if (choice.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                return text.GetString()!.Length;
            }

            // Chat: streamed deltas, or a whole message when the server did not stream. Reasoning text is output too.
            if (choice.TryGetProperty(fromStream ? "delta" : "message", out var message) && message.ValueKind == JsonValueKind.Object)
            {
                var n = 0;
                foreach (var name in new[] { "content", "reasoning_content", "reasoning" })
                {
                    if (message.TryGetProperty(name, out var part) && part.ValueKind == JsonValueKind.String)
                    {
                        n += part.GetString()!.Length;
                    }
                }

                return n;
            }

            return 0;
        }

        private static int? Int(JsonElement obj, string name) =>
            obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;
    }
}
