using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

using Microsoft.Extensions.Time.Testing;

namespace Tempo.LoadGen.Tests;

/// <summary>
/// An in-memory OpenAI completions server on a fake clock, plugged into the load generator as its HTTP handler, so
/// timing tests assert exact values instead of wall-clock windows. Each token is one SSE chunk, released when the
/// clock reaches its due time (first token <see cref="FirstTokenDelay"/> after the request arrives, then one every
/// <see cref="ChunkDelay"/>). Who moves the clock depends on <see cref="DrivesClock"/>.
/// </summary>
internal sealed class VirtualTimeServer(FakeTimeProvider clock) : HttpMessageHandler
{
    private readonly FakeTimeProvider _clock = clock;
    private readonly ConcurrentQueue<double> _received = new();

    /// <summary>Delay from a request's arrival to its first token.</summary>
    public TimeSpan FirstTokenDelay { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Delay between tokens after the first.</summary>
    public TimeSpan ChunkDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// True: the server moves the clock itself, to each chunk's due time when the client asks for that chunk (one
    /// request at a time only). False: chunks wait for the test to advance the clock.
    /// </summary>
    public bool DrivesClock { get; init; }

    /// <summary>Clock times, in seconds since the clock's start, at which requests arrived, in arrival order.</summary>
    public IReadOnlyList<double> Received => [.. _received];

    /// <summary>Waits (in real time, as a hang guard only) until <paramref name="count"/> requests have arrived.</summary>
    public async Task WaitForRequestsAsync(int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (_received.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {_received.Count} of {count} requests arrived");
            await Task.Delay(1);
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var arrived = _clock.GetUtcNow();
        using var doc = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
        var tokens = doc.RootElement.GetProperty("max_tokens").GetInt32();
        _received.Enqueue((arrived - _clock.Start).TotalSeconds);
        var content = new StreamContent(new ChunkStream(this, arrived, tokens, cancellationToken));
        content.Headers.ContentType = new("text/event-stream");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    /// <summary>The SSE body: one read returns one whole event, released at its due time.</summary>
    private sealed class ChunkStream(VirtualTimeServer server, DateTimeOffset arrived, int tokens, CancellationToken requestToken) : Stream
    {
        private int _next;
        private byte[] _pending = [];
        private int _offset;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_offset == _pending.Length)
            {
                if (_next > tokens)
                {
                    return 0;
                }

                if (_next < tokens)
                {
                    await ReleaseAsync(arrived + server.FirstTokenDelay + (server.ChunkDelay * _next), cancellationToken);
                }

                var finish = _next == tokens - 1 ? "\"length\"" : "null";
                _pending = Encoding.UTF8.GetBytes(_next < tokens
                    ? $"data: {{\"choices\":[{{\"index\":0,\"text\":\" tok\",\"finish_reason\":{finish}}}]}}\n\n"
                    : "data: [DONE]\n\n");
                _offset = 0;
                _next++;
            }

            var n = Math.Min(buffer.Length, _pending.Length - _offset);
            _pending.AsMemory(_offset, n).CopyTo(buffer);
            _offset += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private async Task ReleaseAsync(DateTimeOffset due, CancellationToken cancellationToken)
        {
            var wait = due - server._clock.GetUtcNow();
            if (wait <= TimeSpan.Zero)
            {
                return;
            }

            if (server.DrivesClock)
            {
                server._clock.Advance(wait);
                return;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(requestToken, cancellationToken);
            await Task.Delay(wait, server._clock, linked.Token);
        }
    }
}
