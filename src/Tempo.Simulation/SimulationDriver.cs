using System.Diagnostics;
using System.Globalization;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Fleet;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Simulation;

/// <summary>
/// The discrete-event simulator: replays one <see cref="Workload"/> through fresh <see cref="EngineCore"/>s driven by
/// schedulers, with step durations from a <see cref="CostModel"/> on virtual clocks: one engine, or a fleet of
/// replicas behind a router (<see cref="IRouter"/>, the same code the gateway routes with).
/// </summary>
/// <remarks>
/// Events: a request arriving while its engine is idle moves that engine's clock to its arrival; one arriving during
/// a step joins the queues when the step ends (as in a real engine loop) but is submitted with its true arrival
/// time, so its TTFT and deadline count from when the client sent it. A collective job releases stage 0 at the job's
/// arrival and stage k+1 when every call of stage k has completed, at that moment. If a call of a job is rejected or
/// aborted the job is abandoned: its calls in later stages are never sent and get an aborted record. Every workload
/// request ends with exactly one record. The same inputs give identical records.
/// <para>
/// A fleet keeps one clock per replica and always advances the busy replica that is furthest behind, so no replica
/// sees a request before it was sent: an arrival (or a released stage) is routed once every busy replica has reached
/// its time, against the replicas' loads at that moment.
/// </para>
/// </remarks>
public static class SimulationDriver
{
    /// <summary>Runs <paramref name="workload"/> under <paramref name="scheduler"/> (a fresh instance: it is stateful) with engine limits <paramref name="config"/>.</summary>
    public static SimulationResult Run(Workload workload, EngineConfig config, IScheduler scheduler, CostModel cost, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return RunFleet(workload, config, [scheduler], new RoundRobinRouter(), cost, options);
    }

    /// <summary>
    /// Runs <paramref name="workload"/> on one replica per scheduler in <paramref name="schedulers"/> (fresh instances,
    /// one each), every replica with engine limits <paramref name="config"/>, placing each request with
    /// <paramref name="router"/>.
    /// </summary>
    public static SimulationResult RunFleet(Workload workload, EngineConfig config, IReadOnlyList<IScheduler> schedulers, IRouter router, CostModel cost, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(cost);
        if (schedulers.Count == 0 || schedulers.Distinct().Count() != schedulers.Count)
        {
            throw new ArgumentException("a fleet needs at least one replica, each with its own scheduler instance", nameof(schedulers));
        }

        options ??= new SimulationOptions();
        options.Validate();
        workload.Validate();

        var wall = Stopwatch.StartNew();
        var run = new Replay(workload, config, schedulers, router, cost, options);
        var outcome = run.Execute();
        wall.Stop();

        return new SimulationResult
        {
            Workload = workload.Name,
            Policy = schedulers[0].Name,
            Engine = config,
            Records = run.Records,
            Metrics = RunMetrics.Compute(run.Records, options.Weights),
            Stats = schedulers.Count == 1 ? run.Replicas[0].Engine.Stats : EngineStats.Sum(run.Replicas.Select(r => r.Engine.Stats)),
            SimulatedS = run.Replicas.Max(r => r.Clock.NowS),
            WallS = wall.Elapsed.TotalSeconds,
            Outcome = outcome,
            Replicas = schedulers.Count,
            Router = schedulers.Count == 1 ? null : router.Name,
        };
    }

    /// <summary>One engine of the fleet, on its own clock.</summary>
    private sealed class Replica(EngineCore engine, VirtualClock clock)
    {
        public EngineCore Engine { get; } = engine;

        public VirtualClock Clock { get; } = clock;

        /// <summary>Consecutive steps that neither scheduled nor ended anything.</summary>
        public int IdleSteps { get; set; }

        /// <summary>Mean time a finished request held its batch slot, first token to end (an EWMA), for routers.</summary>
        public double ServiceS { get; set; }
    }

    /// <summary>The state of one replay.</summary>
    private sealed class Replay
    {
        // Weight of each finished request in a replica's running mean service time.
        private const double ServiceWeight = 0.05;

        private readonly Workload _workload;
        private readonly SimulationOptions _options;
        private readonly IRouter _router;
        private readonly Dictionary<long, int> _indexById;
        private readonly RequestRecord?[] _records;
        private readonly Arrival[] _arrivals;
        private readonly Dictionary<long, Job> _jobs = [];
        private readonly List<Job> _stageDone = [];
        // Calls of released stages not yet sent, by send time (then release order): replicas release at their own clocks.
        private readonly PriorityQueue<int, (double TimeS, long Order)> _released = new();
        private readonly ReplicaLoad[] _loads;
        private int _next;
        private long _releaseOrder;

        public Replay(Workload workload, EngineConfig config, IReadOnlyList<IScheduler> schedulers, IRouter router, CostModel cost, SimulationOptions options)
        {
            _workload = workload;
            _options = options;
            _router = router;
            var specs = workload.Requests;
            _records = new RequestRecord?[specs.Count];
            _indexById = new Dictionary<long, int>(specs.Count);
            for (var i = 0; i < specs.Count; i++)
            {
                _indexById.Add(specs[i].Id, i);
            }

            // One rule groups jobs and orders arrivals for the simulator and the load generator alike.
            _arrivals = [.. ArrivalPlan.Of(specs).Select(a => new Arrival(a.TimeS, a.Index, a.Stages is { } stages ? AddJob(specs[a.Index].JobId!.Value, stages) : null))];
            Replicas = new Replica[schedulers.Count];
            _loads = new ReplicaLoad[schedulers.Count];
            for (var i = 0; i < schedulers.Count; i++)
            {
                var clock = new VirtualClock();
                var slowdowns = options.ReplicaSlowdowns;
                var noise = options.StepNoise > 0 ? new StepNoise(options.StepNoise, options.NoiseSeed + i) : null;
                var executor = cost.CreateExecutor(clock, slowdowns.Count == 0 ? 1 : slowdowns[i % slowdowns.Count], noise);
                var replica = new Replica(new EngineCore(config, schedulers[i], executor, clock), clock);
                replica.Engine.RequestEnded += (request, record) => OnEnded(replica, request, record);
                Replicas[i] = replica;
            }
        }

        public Replica[] Replicas { get; }

        public IReadOnlyList<RequestRecord> Records => _records!;

        public SimulationOutcome Execute()
        {
            while (true)
            {
                // The busy replica furthest behind sets the time up to which arrivals are due.
                var next = Behind();
                var horizon = next?.Clock.NowS ?? double.PositiveInfinity;
                if (next is null && ArrivalTime() is { } t)
                {
                    // Every replica is idle: the next arrival comes at t.
                    horizon = _options.MaxSimulatedS is { } c ? Math.Min(t, c) : t;
                }

                SubmitDue(horizon);
                if (_options.MaxSimulatedS is { } cap && horizon >= cap)
                {
                    var at = cap.ToString(CultureInfo.InvariantCulture);
                    AbortLive($"simulation stopped at the {at} s time cap");
                    FillMissing(Math.Max(cap, Replicas.Max(r => r.Clock.NowS)), $"simulation stopped at the {at} s time cap before this request was sent");
                    return SimulationOutcome.TimeCapReached;
                }

                next = Behind();
                if (next is not null)
                {
                    if (Step(next))
                    {
                        return SimulationOutcome.SchedulerStalled;
                    }
                }
                else if (ArrivalTime() is null)
                {
                    EnsureComplete();
                    return SimulationOutcome.Completed;
                }
            }
        }

        // The replica with work whose clock is furthest behind (the first such in fleet order), or null if all are idle.
        private Replica? Behind()
        {
            Replica? behind = null;
            foreach (var r in Replicas)
            {
                if (r.Engine.HasWork && (behind is null || r.Clock.NowS < behind.Clock.NowS))
                {
                    behind = r;
                }
            }

            return behind;
        }

        // When the next request is sent: a released stage or a top-level arrival; null when nothing is left to send.
        private double? ArrivalTime()
        {
            double? t = _released.TryPeek(out _, out var first) ? first.TimeS : null;
            if (_next < _arrivals.Length && (t is null || _arrivals[_next].TimeS < t))
            {
                t = _arrivals[_next].TimeS;
            }

            return t;
        }

        // Steps one replica; true when its scheduler is judged stuck (everything live was aborted).
        private bool Step(Replica replica)
        {
            var engine = replica.Engine;
            var idleBefore = engine.Stats.IdleSteps;
            var endedBefore = engine.Stats.Ended;
            engine.Step();
            if (_options.CheckInvariants)
            {
                engine.CheckInvariants();
            }

            ReleaseNextStages(replica.Clock.NowS);
            var progressed = engine.Stats.IdleSteps == idleBefore || engine.Stats.Ended != endedBefore;
            replica.IdleSteps = progressed ? 0 : replica.IdleSteps + 1;
            if (replica.IdleSteps >= _options.MaxIdleSteps && _next == _arrivals.Length && _released.Count == 0 && engine.HasWork)
            {
                AbortLive($"scheduler '{engine.PolicyName}' scheduled nothing for {replica.IdleSteps} consecutive steps with work pending; aborted");
                EnsureComplete();
                return true;
            }

            return false;
        }

        private Job AddJob(long id, IReadOnlyList<IReadOnlyList<int>> stages)
        {
            var job = new Job(id, stages);
            _jobs.Add(id, job);
            return job;
        }

        /// <summary>Sends every request due by <paramref name="horizonS"/>, released stages first, each with its own time.</summary>
        private void SubmitDue(double horizonS)
        {
            while (_released.TryPeek(out var index, out var due) && due.TimeS <= horizonS)
            {
                _released.Dequeue();
                Send(_workload.Requests[index], due.TimeS);
            }

            while (_next < _arrivals.Length && _arrivals[_next].TimeS <= horizonS)
            {
                var a = _arrivals[_next++];
                if (a.Job is { } job)
                {
                    ReleaseStage(job, 0, a.TimeS, sendNow: true);
                }
                else
                {
                    Send(_workload.Requests[a.SpecIndex], a.TimeS);
                }
            }
        }

        // Routes one request sent at `atS` and submits it; an idle replica's clock moves to the send time first.
        private void Send(RequestSpec spec, double atS)
        {
            var replica = Replicas[Replicas.Length == 1 ? 0 : Route(spec, atS)];
            replica.Clock.AdvanceTo(atS);
            replica.IdleSteps = 0;
            replica.Engine.Submit(spec, atS);
        }

        private int Route(RequestSpec spec, double atS)
        {
            for (var i = 0; i < Replicas.Length; i++)
            {
                _loads[i] = LoadOf(Replicas[i]);
            }

            var pick = _router.Pick(spec, atS, _loads);
            if (pick < 0 || pick >= Replicas.Length)
            {
                throw new InvalidOperationException($"router '{_router.Name}' picked replica {pick} of {Replicas.Length}");
            }

            return pick;
        }

        private static ReplicaLoad LoadOf(Replica replica)
        {
            var engine = replica.Engine;
            var view = engine.View;
            long backlog = 0;
            foreach (var r in view.Waiting)
            {
                backlog += r.PendingTokens;
            }

            foreach (var r in view.Running)
            {
                backlog += r.IsPrefill ? r.PendingTokens : 0;
            }

            var step = engine.Stats.Steps > 0 ? engine.Stats.BusyS / engine.Stats.Steps : 0;
            return new ReplicaLoad(view.Running.Count, view.Waiting.Count, view.Swapped.Count, engine.Config.MaxBatch, engine.Config.TokenBudget,
                engine.Kv.GpuUsage, backlog, step, replica.ServiceS);
        }

        /// <summary>Queues the next stage of every job whose current stage completed in the last step, at the step's end.</summary>
        private void ReleaseNextStages(double nowS)
        {
            // Index loop: a release can, in principle, end calls synchronously (rejection) and touch the list.
            for (var i = 0; i < _stageDone.Count; i++)
            {
                var job = _stageDone[i];
                ReleaseStage(job, job.Stage + 1, nowS, sendNow: false);
            }

            _stageDone.Clear();
        }

        // A job's first stage is sent with its arrival; a later stage is queued at the time its predecessor ended, and
        // sent once every busy replica has reached that time.
        private void ReleaseStage(Job job, int stage, double atS, bool sendNow)
        {
            var calls = job.Stages[stage];
            job.Stage = stage;
            job.Outstanding = calls.Count;
            foreach (var index in calls)
            {
                if (sendNow)
                {
                    Send(_workload.Requests[index], atS);
                }
                else
                {
                    _released.Enqueue(index, (atS, _releaseOrder++));
                }
            }
        }

        private void OnEnded(Replica replica, EngineRequest request, RequestRecord record)
        {
            var index = _indexById[record.Spec.Id];
            if (_records[index] is not null)
            {
                throw new InvalidOperationException($"request {record.Spec.Id} ended twice");
            }

            _records[index] = record;
            if (record.Completed && record.TokenTimesS.Count > 0)
            {
                // A batch slot is held from the first token on (prefill is priced separately by the routers).
                var held = record.FinishS - record.TokenTimesS[0];
                replica.ServiceS = replica.ServiceS == 0 ? held : replica.ServiceS + (ServiceWeight * (held - replica.ServiceS));
            }

            if (ArrivalPlan.JobOf(record.Spec) is not { } jobId || !_jobs.TryGetValue(jobId, out var job) || job.Abandoned)
            {
                return;
            }

            if (!record.Completed)
            {
                Abandon(job, record, replica.Clock.NowS);
            }
            else if (--job.Outstanding == 0 && job.Stage + 1 < job.Stages.Count)
            {
                _stageDone.Add(job);
            }
        }

        /// <summary>Gives every never-released call of the job an aborted record; calls already sent run on.</summary>
        private void Abandon(Job job, RequestRecord failed, double nowS)
        {
            job.Abandoned = true;
            var how = failed.Reason == FinishReason.Rejected ? "rejected" : "aborted";
            var detail = $"job abandoned: call {failed.Spec.Id} was {how}" + (failed.Detail is { } d ? $" ({d})" : "");
            for (var s = job.Stage + 1; s < job.Stages.Count; s++)
            {
                foreach (var index in job.Stages[s])
                {
                    _records[index] = new RequestRecord(_workload.Requests[index], nowS, [], nowS, FinishReason.Aborted, detail);
                }
            }
        }

        private void AbortLive(string detail)
        {
            foreach (var replica in Replicas)
            {
                var view = replica.Engine.View;
                var live = new List<EngineRequest>(replica.Engine.LiveRequests);
                live.AddRange(view.Waiting);
                live.AddRange(view.Running);
                live.AddRange(view.Swapped);
                foreach (var r in live)
                {
                    replica.Engine.Abort(r, detail);
                }
            }
        }

        private void FillMissing(double nowS, string detail)
        {
            for (var i = 0; i < _records.Length; i++)
            {
                _records[i] ??= new RequestRecord(_workload.Requests[i], nowS, [], nowS, FinishReason.Aborted, detail);
            }
        }

        private void EnsureComplete()
        {
            var missing = Array.IndexOf(_records, null);
            if (missing >= 0)
            {
                throw new InvalidOperationException($"simulation of '{_workload.Name}' ended without a record for request {_workload.Requests[missing].Id}");
            }
        }
    }

    /// <summary>A top-level arrival: one request, or stage 0 of a collective job.</summary>
    private readonly record struct Arrival(double TimeS, int SpecIndex, Job? Job);

    /// <summary>Release state of one collective job.</summary>
    private sealed class Job(long id, IReadOnlyList<IReadOnlyList<int>> stages)
    {
        public long Id { get; } = id;

        /// <summary>Workload indices of the calls of each stage, in workload order.</summary>
        public IReadOnlyList<IReadOnlyList<int>> Stages { get; } = stages;

        /// <summary>The stage released last.</summary>
        public int Stage { get; set; } = -1;

        /// <summary>Calls of the current stage not yet ended.</summary>
        public int Outstanding { get; set; }

        /// <summary>True once a call failed: later stages are never released.</summary>
        public bool Abandoned { get; set; }
    }
}
