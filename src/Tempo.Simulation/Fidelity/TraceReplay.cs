using System.Globalization;
using System.Text;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Simulation.Profiles;

namespace Tempo.Simulation.Fidelity;

/// <summary>One sequence of a step as the comparison sees it.</summary>
/// <param name="Id">The request.</param>
/// <param name="Tokens">Tokens it processed.</param>
/// <param name="ContextBefore">Tokens already in its KV.</param>
public readonly record struct TracedWork(long Id, int Tokens, int ContextBefore)
{
    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Id}:{Tokens}@{ContextBefore}");
}

/// <summary>A live request just before the diverging step was planned, as the replay's engine held it.</summary>
/// <param name="Id">The request.</param>
/// <param name="Class">Its class.</param>
/// <param name="State">Waiting, running or swapped.</param>
/// <param name="AgeS">Seconds since its arrival.</param>
/// <param name="Generated">Output tokens so far.</param>
/// <param name="OutputTokens">Output tokens it may produce.</param>
/// <param name="PromptTokens">Prompt tokens.</param>
/// <param name="Slo">Its SLO.</param>
public sealed record LiveRequest(long Id, RequestClass Class, RequestState State, double AgeS, int Generated, int OutputTokens, int PromptTokens, Slo Slo);

/// <summary>The first step at which the replayed policy did something other than the real engine.</summary>
/// <param name="StepIndex">Index of the step among the trace's steps (0-based).</param>
/// <param name="PlanS">When the real engine planned it.</param>
/// <param name="Real">What the real engine ran.</param>
/// <param name="Replayed">What the replay planned in the same state.</param>
/// <param name="Live">Every live request just before the plan, for reading why.</param>
public sealed record TraceDivergence(int StepIndex, double PlanS, IReadOnlyList<TracedWork> Real, IReadOnlyList<TracedWork> Replayed, IReadOnlyList<LiveRequest> Live);

/// <summary>An end the replay reproduced differently: another reason, or after another step.</summary>
/// <param name="Id">The request.</param>
/// <param name="Real">How it ended on the real engine.</param>
/// <param name="RealAfterSteps">Steps the real engine had run when it ended.</param>
/// <param name="Replayed">How it ended in the replay; null when it had not ended.</param>
/// <param name="ReplayedAfterSteps">Steps the replay had run when it ended.</param>
public sealed record EndMismatch(long Id, TraceEnd Real, int RealAfterSteps, TraceEnd? Replayed, int ReplayedAfterSteps);

/// <summary>What a replay found.</summary>
/// <param name="Policy">The replayed policy.</param>
/// <param name="Steps">Steps in the trace.</param>
/// <param name="StepsMatched">Steps the replay planned exactly as the real engine did, before the first divergence.</param>
/// <param name="First">The first diverging step; null when every step matched.</param>
/// <param name="EndMismatches">Ends the replay did not reproduce (compared only when every step matched).</param>
/// <param name="Records">
/// Every request's record as the replayed engine ended it (when every step matched): the run as the engine saw it,
/// without the HTTP server, the network and the client between the engine and the measured latencies.
/// </param>
public sealed record TraceReplayResult(string Policy, int Steps, int StepsMatched, TraceDivergence? First, IReadOnlyList<EndMismatch> EndMismatches, IReadOnlyList<RequestRecord> Records)
{
    /// <summary>A readable report: the verdict, then the diverging step and the live requests around it.</summary>
    public string Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"policy {Policy}: {StepsMatched} of {Steps} steps planned exactly as the real engine planned them");
        if (First is { } d)
        {
            var real = d.Real.Select(w => w.Id).ToHashSet();
            var replayed = d.Replayed.Select(w => w.Id).ToHashSet();
            sb.AppendLine(inv, $"first divergence: step {d.StepIndex}, planned at {d.PlanS:0.000000} s");
            sb.AppendLine(inv, $"  real ran     {Work(d.Real)}");
            sb.AppendLine(inv, $"  replay chose {Work(d.Replayed)}");
            sb.AppendLine(inv, $"  only real: [{string.Join(", ", real.Except(replayed))}]; only replay: [{string.Join(", ", replayed.Except(real))}]");
            sb.AppendLine("  live before the plan (id class state age_s generated/output prompt ttft/tbt/deadline):");
            foreach (var r in d.Live)
            {
                var mark = real.Contains(r.Id) != replayed.Contains(r.Id) ? " <-" : string.Empty;
                sb.AppendLine(inv, $"    {r.Id} {r.Class.ToString().ToLowerInvariant()} {r.State.ToString().ToLowerInvariant()} {r.AgeS:0.000} {r.Generated}/{r.OutputTokens} {r.PromptTokens} {r.Slo.TtftS:0.###}/{r.Slo.TbtS:0.###}/{r.Slo.DeadlineS:0.###}{mark}");
            }
        }
        else
        {
            sb.AppendLine(inv, $"every step matched; {EndMismatches.Count} ends differ");
            foreach (var m in EndMismatches.Take(20))
            {
                var replayed = m.Replayed is { } e ? string.Create(inv, $"{e.Reason.ToString().ToLowerInvariant()} after step {m.ReplayedAfterSteps}") : "not ended";
                sb.AppendLine(inv, $"  {m.Id}: real {m.Real.Reason.ToString().ToLowerInvariant()} after step {m.RealAfterSteps}, replay {replayed}");
            }
        }

        return sb.ToString();

        static string Work(IReadOnlyList<TracedWork> work) => work.Count == 0 ? "nothing" : string.Join(' ', work);
    }
}

/// <summary>
/// Replays a real engine's <see cref="StepTrace"/> through the same engine core and a policy, decision by decision:
/// requests are submitted at the times the real engine took them, each step is planned at the time the real engine
/// planned it and takes the time it measured, and the sequences the model stopped early (or a client abandoned)
/// end where they ended. Given the same inputs, a deterministic policy must plan the same steps; the first step it
/// plans differently is where the simulator and the real engine part, and what differs in its inputs says why.
/// </summary>
public static class TraceReplay
{
    /// <summary>Replays <paramref name="trace"/> with <paramref name="scheduler"/> until the first divergence.</summary>
    public static TraceReplayResult Run(StepTrace trace, IScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(scheduler);
        var clock = new VirtualClock();
        var executor = new ReplayExecutor(clock);
        var engine = new EngineCore(trace.Engine, scheduler, executor, clock);
        var requests = new Dictionary<long, EngineRequest>();
        var ends = new Dictionary<long, (TraceEnd End, int AfterSteps)>();
        var records = new List<RequestRecord>();
        var stepIndex = 0;
        engine.RequestEnded += (r, record) =>
        {
            // Ends during a step's bookkeeping follow that step; drops made while planning it precede it.
            ends[r.Id] = (new TraceEnd(record.FinishS, r.Id, record.Reason), stepIndex + (executor.Executed ? 1 : 0));
            records.Add(record);
        };
        var events = trace.Events;
        var steps = events.Count(e => e is TraceStep);
        for (var i = 0; i < events.Count; i++)
        {
            switch (events[i])
            {
                case TraceArrival a:
                    clock.AdvanceTo(a.SubmitS);
                    requests[a.Spec.Id] = engine.Submit(a.Spec, Math.Min(a.ArrivalS, clock.NowS));
                    break;
                case TraceEnd { Reason: FinishReason.Aborted } end when requests.TryGetValue(end.Id, out var aborted):
                    // A client went away (or the server shut down): nothing the policy decided, so it happens here too.
                    clock.AdvanceTo(end.AtS);
                    engine.Abort(aborted, "aborted in the real run");
                    break;
                case TraceStep { Step: var step }:
                    clock.AdvanceTo(step.PlanS!.Value);
                    var live = Live(engine, clock.NowS);
                    executor.Expect(step, StopsAfter(events, i));
                    if (!engine.HasWork)
                    {
                        return Diverged(new TraceDivergence(stepIndex, step.PlanS.Value, Traced(step), [], live));
                    }

                    engine.Step();
                    executor.Executed = false;
                    if (executor.Mismatch is { } replayed)
                    {
                        return Diverged(new TraceDivergence(stepIndex, step.PlanS.Value, Traced(step), replayed, live));
                    }

                    stepIndex++;
                    break;
            }
        }

        // An end is reproduced when it has the same reason after the same step. Its time differs by the microseconds
        // the real engine spent between the step's end and the token's bookkeeping.
        var mismatches = new List<EndMismatch>();
        var realSteps = 0;
        foreach (var e in events)
        {
            if (e is TraceStep)
            {
                realSteps++;
            }
            else if (e is TraceEnd real)
            {
                var found = ends.TryGetValue(real.Id, out var replayed);
                if (!found || replayed.End.Reason != real.Reason || replayed.AfterSteps != realSteps)
                {
                    mismatches.Add(new EndMismatch(real.Id, real, realSteps, found ? replayed.End : null, replayed.AfterSteps));
                }
            }
        }

        return new TraceReplayResult(trace.Policy, steps, stepIndex, null, mismatches, records);

        TraceReplayResult Diverged(TraceDivergence d) => new(trace.Policy, steps, stepIndex, d, [], []);
    }

    /// <summary>
    /// Runs the trace's requests through the engine with step times from <paramref name="costs"/> instead of the
    /// measured ones: the same arrivals (when the server took them), the same early stops (after as many tokens) and
    /// the same client aborts (at the same times), so the only input that differs from the real run is how long each
    /// step takes. Returns every request's record.
    /// </summary>
    public static IReadOnlyList<RequestRecord> Simulate(StepTrace trace, IScheduler scheduler, CostModel costs)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(costs);
        var clock = new VirtualClock();
        var stopsAt = StopLengths(trace.Events);
        var engine = new EngineCore(trace.Engine, scheduler, new ModelledExecutor(costs, clock, stopsAt), clock);
        var records = new List<RequestRecord>();
        engine.RequestEnded += (_, record) => records.Add(record);
        var arrivals = new Queue<TraceArrival>(trace.Events.OfType<TraceArrival>());
        var aborts = new Queue<TraceEnd>(trace.Events.OfType<TraceEnd>().Where(e => e.Reason == FinishReason.Aborted));
        var requests = new Dictionary<long, EngineRequest>();
        var idle = 0;
        while (arrivals.Count > 0 || engine.HasWork)
        {
            if (!engine.HasWork)
            {
                clock.AdvanceTo(arrivals.Peek().SubmitS);
            }

            while (arrivals.Count > 0 && arrivals.Peek().SubmitS <= clock.NowS)
            {
                var a = arrivals.Dequeue();
                requests[a.Spec.Id] = engine.Submit(a.Spec, Math.Min(a.ArrivalS, clock.NowS));
            }

            while (aborts.Count > 0 && aborts.Peek().AtS <= clock.NowS)
            {
                if (requests.TryGetValue(aborts.Dequeue().Id, out var r))
                {
                    engine.Abort(r, "aborted in the real run");
                }
            }

            if (engine.HasWork)
            {
                var idleBefore = engine.Stats.IdleSteps;
                engine.Step();
                idle = engine.Stats.IdleSteps > idleBefore ? idle + 1 : 0;
                if (idle > MaxIdleSteps)
                {
                    throw new InvalidOperationException($"policy '{engine.PolicyName}' planned nothing for {MaxIdleSteps} steps in a row with {engine.LiveRequests} requests live");
                }
            }
        }

        return records;
    }

    /// <summary>Empty steps in a row (a millisecond each) after which a modelled run is judged stuck.</summary>
    private const int MaxIdleSteps = 1_000_000;

    /// <summary>How long a server waits after a step that ran nothing before it plans again.</summary>
    private const double IdleBackoffS = 0.001;

    /// <summary>How many tokens each response the model stopped early had produced.</summary>
    private static Dictionary<long, int> StopLengths(IReadOnlyList<TraceEvent> events)
    {
        var produced = new Dictionary<long, int>();
        var stops = new Dictionary<long, int>();
        foreach (var e in events)
        {
            if (e is TraceStep { Step: var step })
            {
                for (var k = 0; k < step.Work.Count; k++)
                {
                    if (step.Work[k].ProducesToken)
                    {
                        produced[step.RequestIds![k]] = produced.GetValueOrDefault(step.RequestIds![k]) + 1;
                    }
                }
            }
            else if (e is TraceEnd { Reason: FinishReason.Stop } end)
            {
                stops[end.Id] = produced.GetValueOrDefault(end.Id);
            }
        }

        return stops;
    }

    private static List<TracedWork> Traced(LoggedStep step) =>
        [.. step.Work.Select((w, k) => new TracedWork(step.RequestIds![k], w.Tokens, w.ContextBefore))];

    private static List<LiveRequest> Live(EngineCore engine, double now)
    {
        var view = engine.View;
        return [.. view.Running.Concat(view.Waiting).Concat(view.Swapped)
            .OrderBy(r => r.Id)
            .Select(r => new LiveRequest(r.Id, r.Spec.Class, r.State, now - r.ArrivalS, r.Generated, r.Spec.OutputTokens, r.PromptTokens, r.Spec.Slo))];
    }

    /// <summary>The requests the model stopped early right after step <paramref name="at"/>: their ends follow it before the next step.</summary>
    private static HashSet<long> StopsAfter(IReadOnlyList<TraceEvent> events, int at)
    {
        var stops = new HashSet<long>();
        for (var j = at + 1; j < events.Count && events[j] is not TraceStep; j++)
        {
            if (events[j] is TraceEnd { Reason: FinishReason.Stop } end)
            {
                stops.Add(end.Id);
            }
        }

        return stops;
    }

    /// <summary>Prices each step with a cost model; a response the model stopped early stops after as many tokens.</summary>
    private sealed class ModelledExecutor(CostModel costs, VirtualClock clock, Dictionary<long, int> stopsAt) : IExecutor
    {
        public StepResult Execute(StepBatch batch)
        {
            // A server that planned nothing pauses before it plans again (the real engine returns at once).
            var duration = batch.Entries.Count == 0 ? IdleBackoffS : costs.StepTimeS(batch);
            clock.Advance(duration);
            var outputs = new List<SequenceOutput>();
            foreach (var e in batch.Entries)
            {
                if (e.ProducesToken)
                {
                    outputs.Add(new SequenceOutput(0, stopsAt.TryGetValue(e.Request.Id, out var n) && e.Request.Generated + 1 >= n));
                }
            }

            return new StepResult(duration, outputs);
        }
    }

    /// <summary>Runs each step as the real engine ran it: its measured duration, its early stops.</summary>
    private sealed class ReplayExecutor(VirtualClock clock) : IExecutor
    {
        private LoggedStep? _expected;
        private HashSet<long> _stops = [];

        /// <summary>True from the end of a step's forward pass until the driver clears it.</summary>
        public bool Executed { get; set; }

        /// <summary>What the replay planned, when it differs from the expected step.</summary>
        public List<TracedWork>? Mismatch { get; private set; }

        public void Expect(LoggedStep step, HashSet<long> stops)
        {
            _expected = step;
            _stops = stops;
            Mismatch = null;
        }

        public StepResult Execute(StepBatch batch)
        {
            var expected = _expected ?? throw new InvalidOperationException("the replay ran a step the trace does not have");
            _expected = null;
            var planned = batch.Entries.Select(e => new TracedWork(e.Request.Id, e.Tokens, e.ContextBefore)).ToList();
            if (!Same(planned, Traced(expected)))
            {
                Mismatch = planned;
            }

            var outputs = new List<SequenceOutput>();
            foreach (var e in batch.Entries)
            {
                if (e.ProducesToken)
                {
                    outputs.Add(new SequenceOutput(0, _stops.Contains(e.Request.Id)));
                }
            }

            var end = expected.EndS ?? (expected.AtS + expected.DurationS);
            clock.AdvanceTo(end);
            Executed = true;
            return new StepResult(expected.DurationS, outputs, end);
        }

        // The order of sequences inside a batch does not change what a step does.
        private static bool Same(List<TracedWork> a, List<TracedWork> b) =>
            a.Count == b.Count && a.OrderBy(w => w.Id).SequenceEqual(b.OrderBy(w => w.Id));
    }
}
