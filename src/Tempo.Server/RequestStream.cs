using System.Threading.Channels;

using Tempo.Core;

namespace Tempo.Server;

/// <summary>One event of a request's stream: a token's text, or the single terminal outcome.</summary>
internal readonly record struct StreamEvent(string? Text, RequestOutcome? End);

/// <summary>The events of one accepted request, written by the engine thread and read by its HTTP handler.</summary>
internal sealed class RequestStream(long id)
{
    // Continuations run on the thread pool, never inline on the engine thread.
    private readonly Channel<StreamEvent> _events = Channel.CreateUnbounded<StreamEvent>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = false });

    public long Id { get; } = id;

    public ChannelReader<StreamEvent> Events => _events.Reader;

    public void Token(string text) => _events.Writer.TryWrite(new StreamEvent(text, null));

    public void End(RequestOutcome outcome)
    {
        _events.Writer.TryWrite(new StreamEvent(null, outcome));
        _events.Writer.TryComplete();
    }
}
