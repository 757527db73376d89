using System.Buffers;
using System.Text.Json;

using Tempo.Core;

namespace Tempo.Gateway;

/// <summary>
/// Reads a replica's answer as it passes through to the client, to score it as the client sees it: for a stream, the
/// time each <c>data:</c> event carrying text reached the gateway (one event, one token, as OpenAI-compatible servers
/// stream), the finish reason and an error event; for a plain answer, its <c>usage.completion_tokens</c> and finish
/// reason, every token at the time the body ended. When the usage counts more tokens than the stream had events (a
/// server that packs several tokens into one event), the rest are counted at the last event's time. The answer is
/// never changed. Memory is bounded: a line or a body over <see cref="MaxBufferedBytes"/> is not parsed, and the answer
/// is then scored as one that did not finish.
/// </summary>
internal sealed class AnswerObserver(bool stream, Func<double> nowS)
{
    /// <summary>Most bytes of one event line or one plain body kept for parsing.</summary>
    public const int MaxBufferedBytes = 4 * 1024 * 1024;

    private readonly List<double> _tokenTimes = [];
    private readonly ArrayBufferWriter<byte> _pending = new();
    private bool _overflow;
    private int _usageTokens;
    private string? _finishReason;
    private bool _error;

    /// <summary>Times, on the gateway's clock, at which each output token passed through.</summary>
    public IReadOnlyList<double> TokenTimesS => _tokenTimes;

    /// <summary>Feeds the next bytes the replica sent.</summary>
    public void Observe(ReadOnlySpan<byte> bytes)
    {
        if (!stream)
        {
            Append(bytes);
            return;
        }

        while (bytes.Length > 0)
        {
            var end = bytes.IndexOf((byte)'\n');
            if (end < 0)
            {
                Append(bytes);
                return;
            }

            Append(bytes[..end]);
            Line();
            bytes = bytes[(end + 1)..];
        }
    }

    /// <summary>
    /// The answer as a record, once the replica is done: completed when it carried a finish reason and no error.
    /// </summary>
    /// <param name="spec">The request as the gateway queued it.</param>
    /// <param name="arrivalS">When the gateway received it.</param>
    public RequestRecord Complete(RequestSpec spec, double arrivalS)
    {
        var now = nowS();
        if (!stream)
        {
            Body(now);
        }
        else if (_pending.WrittenCount > 0)
        {
            Line();
        }

        var last = _tokenTimes.Count > 0 ? _tokenTimes[^1] : now;
        while (_tokenTimes.Count < _usageTokens)
        {
            _tokenTimes.Add(last);
        }

        var reason = _error || _overflow || _finishReason is null ? FinishReason.Aborted
            : _finishReason == "length" ? FinishReason.Length : FinishReason.Stop;
        return new RequestRecord(spec, arrivalS, _tokenTimes, now, reason);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_overflow || _pending.WrittenCount + bytes.Length > MaxBufferedBytes)
        {
            _overflow = true;
            return;
        }

        _pending.Write(bytes);
    }

    // One line of an event stream: a `data:` line carries a JSON chunk, `[DONE]`, or an error.
    private void Line()
    {
        var line = _pending.WrittenSpan.TrimEnd((byte)'\r');
        if (line.StartsWith("data:"u8))
        {
            var payload = line["data:".Length..].Trim((byte)' ');
            if (!payload.SequenceEqual("[DONE]"u8))
            {
                Read(payload, nowS(), streamed: true);
            }
        }

        _pending.ResetWrittenCount();
    }

    private void Body(double now)
    {
        if (!_overflow)
        {
            Read(_pending.WrittenSpan, now, streamed: false);
        }
    }

    private void Read(ReadOnlySpan<byte> json, double now, bool streamed)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (root.TryGetProperty("error", out _))
            {
                _error = true;
                return;
            }

            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
                && usage.TryGetProperty("completion_tokens", out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var tokens))
            {
                _usageTokens = Math.Max(0, tokens);
            }

            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                return;
            }

            var choice = choices[0];
            if (choice.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (streamed && HasText(choice))
            {
                _tokenTimes.Add(now);
            }

            if (choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String)
            {
                _finishReason = f.GetString();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not JSON, or text that is not UTF-8: nothing to score from it.
        }
    }

    // Text in a chat delta (`delta.content`) or a completion chunk (`text`).
    private static bool HasText(JsonElement choice)
    {
        if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object
            && delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!.Length > 0;
        }

        return choice.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String && text.GetString()!.Length > 0;
    }
}

/// <summary>
/// The client's response body with an <see cref="AnswerObserver"/> reading every byte on its way: writes and flushes
/// go straight through, so streaming is unchanged.
/// </summary>
internal sealed class ObservedBody(Stream inner, AnswerObserver observer) : Stream
{
    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override void Flush() => inner.Flush();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count)
    {
        observer.Observe(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        observer.Observe(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }
}
