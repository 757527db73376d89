using System.Threading.Channels;

using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Server;

/// <summary>Why <see cref="EngineInbox.TryAccept"/> refused a request.</summary>
internal enum Refusal
{
    None,
    QueueFull,
    ShuttingDown,
    EngineFailed,
}

/// <summary>What a request thread asks of the engine thread, applied between steps.</summary>
internal abstract record EngineCommand
{
    /// <summary>Serve an accepted request.</summary>
    public sealed record Submit(RequestSpec Spec, double ArrivalS, RequestStream Stream) : EngineCommand;

    /// <summary>End one request (its client went away, or a token could not be decoded).</summary>
    public sealed record Abort(long Id, string Detail) : EngineCommand;

    /// <summary>End every live request (the end of a drain, or shutdown).</summary>
    public sealed record AbortAll(string Detail) : EngineCommand;
}

/// <summary>
/// The request threads' side of the engine: admission (the queue bound, drain, failure), the id and arrival stamp of
/// each accepted request, the job mapping of collective calls, and the command queue the engine thread reads. One
/// lock orders admission against closing, so a request is either queued before the queue closes or refused: none
/// is accepted and then lost.
/// </summary>
/// <param name="options">Queue bound and job-state limits.</param>
/// <param name="clock">The engine's clock.</param>
/// <param name="jobJudged">Told each collective job's verdict (true: met), once, when the job is forgotten.</param>
internal sealed class EngineInbox(ServerOptions options, IClock clock, Action<bool>? jobJudged = null)
{
    private readonly Channel<EngineCommand> _commands = Channel.CreateUnbounded<EngineCommand>(new UnboundedChannelOptions { SingleReader = true });
    private readonly JobRegistry _jobs = new(options.MaxTrackedJobs, options.JobStateTtl.TotalSeconds, jobJudged);
    private readonly Lock _lock = new();
    private long _nextId;
    private int _unapplied;
    private int _engineWaiting;
    private bool _accepting = true;
    private bool _failed;

    /// <summary>Collective jobs whose id mapping is remembered.</summary>
    public int TrackedJobs
    {
        get
        {
            lock (_lock)
            {
                return _jobs.Count;
            }
        }
    }

    /// <summary>
    /// Accepts a validated request unless the queue is full or the server is stopping. The id and arrival time are
    /// stamped here, so latency counts from the moment the request was admitted.
    /// </summary>
    public Refusal TryAccept(RequestSpec template, string? jobKey, out RequestStream? stream)
    {
        stream = null;
        lock (_lock)
        {
            if (_failed)
            {
                return Refusal.EngineFailed;
            }

            if (!_accepting)
            {
                return Refusal.ShuttingDown;
            }

            if (_unapplied + _engineWaiting >= options.MaxQueue)
            {
                return Refusal.QueueFull;
            }

            var now = clock.NowS;
            var spec = template with { Id = ++_nextId, ArrivalS = now };
            if (jobKey is not null)
            {
                // A collective call carries its job's arrival: the job deadline runs from the first call seen.
                var job = _jobs.Resolve(jobKey, now, spec.Slo.DeadlineS);
                spec = spec with { JobId = job.Id, ArrivalS = job.ArrivalS };
            }

            stream = new RequestStream(spec.Id);
            _unapplied++;
            _commands.Writer.TryWrite(new EngineCommand.Submit(spec, now, stream));
            return Refusal.None;
        }
    }

    /// <summary>A request ended (engine thread): a collective call counts toward its job's verdict.</summary>
    public void Ended(RequestSpec spec, bool sloMet)
    {
        if (spec.JobId is { } job)
        {
            lock (_lock)
            {
                _jobs.CallEnded(job, sloMet, clock.NowS);
            }
        }
    }

    /// <summary>Queues an abort of one request (a no-op once it ended).</summary>
    public void Abort(long id, string detail) => _commands.Writer.TryWrite(new EngineCommand.Abort(id, detail));

    /// <summary>Queues an abort of every live request.</summary>
    public void AbortAll(string detail) => _commands.Writer.TryWrite(new EngineCommand.AbortAll(detail));

    /// <summary>Refuses new requests from now on; false when that had already begun.</summary>
    public bool StopAccepting()
    {
        lock (_lock)
        {
            var was = _accepting;
            _accepting = false;
            return was;
        }
    }

    /// <summary>Refuses new requests, queues a last abort of everything live, and closes the queue.</summary>
    public void Close(string detail)
    {
        lock (_lock)
        {
            _accepting = false;
            _commands.Writer.TryWrite(new EngineCommand.AbortAll(detail));
            _commands.Writer.TryComplete();
        }
    }

    /// <summary>The engine failed: refuse everything from now on and close the queue (the engine thread answers what is in it).</summary>
    public void Fail()
    {
        lock (_lock)
        {
            _failed = true;
            _commands.Writer.TryComplete();
        }
    }

    /// <summary>The next queued command, if any (engine thread only).</summary>
    public bool TryRead(out EngineCommand command) => _commands.Reader.TryRead(out command!);

    /// <summary>Blocks until a command is queued; false once the queue is closed and empty (engine thread only).</summary>
    public bool WaitForCommand() => _commands.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Tells admission what the engine thread has taken in: <paramref name="applied"/> submissions left the queue and
    /// <paramref name="engineWaiting"/> requests wait in the engine. Returns the submissions still queued and whether
    /// requests are accepted, for the published snapshot.
    /// </summary>
    public (int Unapplied, bool Accepting) ReportEngine(int applied, int engineWaiting)
    {
        lock (_lock)
        {
            _unapplied -= applied;
            _engineWaiting = engineWaiting;
            return (_unapplied, _accepting && !_failed);
        }
    }
}
