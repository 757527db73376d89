using System.Diagnostics;
using System.Globalization;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Simulation.Profiles;
using Tempo.Simulation.Workloads;

namespace Tempo.Simulation;

/// <summary>
/// The discrete-event simulator: replays one <see cref="Workload"/> through a fresh <see cref="EngineCore"/>
/// driven by a scheduler, with step durations from a <see cref="CostModel"/> on a virtual clock.
/// </summary>
/// <remarks>
/// Events: a request arriving while the engine is idle moves the clock to its arrival; one arriving during a
/// step joins the queues when the step ends (as in a real engine loop) but is submitted with its true arrival
/// time, so its TTFT and deadline count from when the client sent it. A collective job releases stage 0 at the
/// job's arrival and stage k+1 when every call of stage k has completed, at that moment. If a call of a job is
/// rejected or aborted the job is abandoned: its calls in later stages are never sent and get an aborted record.
/// Every workload request ends with exactly one record. The same inputs give identical records.
/// </remarks>
public static class SimulationDriver
{
    /// <summary>Runs <paramref name="workload"/> under <paramref name="scheduler"/> (a fresh instance: it is stateful) with engine limits <paramref name="config"/>.</summary>
    public static SimulationResult Run(Workload workload, EngineConfig config, IScheduler scheduler, CostModel cost, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(cost);
        options ??= new SimulationOptions();
        options.Validate();
        workload.Validate();

        var wall = Stopwatch.StartNew();
        var run = new Replay(workload, config, scheduler, cost, options);
        var outcome = run.Execute();
        wall.Stop();

        return new SimulationResult
        {
            Workload = workload.Name,
            Policy = scheduler.Name,
            Engine = config,
            Records = run.Records,
            Metrics = RunMetrics.Compute(run.Records, options.Weights),
            Stats = run.Engine.Stats,
            SimulatedS = run.Engine.Clock.NowS,
            WallS = wall.Elapsed.TotalSeconds,
            Outcome = outcome,
        };
    }

    /// <summary>The state of one replay.</summary>
    private sealed class Replay
    {
        private readonly Workload _workload;
        private readonly SimulationOptions _options;
        private readonly VirtualClock _clock = new();
        private readonly Dictionary<long, int> _indexById;
        private readonly RequestRecord?[] _records;
        private readonly Arrival[] _arrivals;
        private readonly Dictionary<long, Job> _jobs = [];
        private readonly List<Job> _stageDone = [];
        private int _next;

        public Replay(Workload workload, EngineConfig config, IScheduler scheduler, CostModel cost, SimulationOptions options)
        {
            _workload = workload;
            _options = options;
            var specs = workload.Requests;
            _records = new RequestRecord?[specs.Count];
            _indexById = new Dictionary<long, int>(specs.Count);
            var arrivals = new List<Arrival>(specs.Count);
            for (var i = 0; i < specs.Count; i++)
            {
                var spec = specs[i];
                _indexById.Add(spec.Id, i);
                if (JobOf(spec) is not { } jobId)
                {
                    arrivals.Add(new Arrival(spec.ArrivalS, i, null));
                    continue;
                }

                if (!_jobs.TryGetValue(jobId, out var job))
                {
                    job = new Job(jobId, spec.StageCount);
                    _jobs.Add(jobId, job);
                    arrivals.Add(new Arrival(spec.ArrivalS, i, job));
                }

                job.Add(spec.Stage, i);
            }

            // Ties at the same instant keep workload order.
            _arrivals = [.. arrivals.OrderBy(a => a.TimeS).ThenBy(a => a.SpecIndex)];
            Engine = new EngineCore(config, scheduler, cost.CreateExecutor(_clock), _clock);
            Engine.RequestEnded += OnEnded;
        }

        public EngineCore Engine { get; }

        public IReadOnlyList<RequestRecord> Records => _records!;

        public SimulationOutcome Execute()
        {
            var idleSteps = 0;
            while (true)
            {
                if (SubmitDue())
                {
                    idleSteps = 0;
                }

                if (_options.MaxSimulatedS is { } cap && _clock.NowS >= cap)
                {
                    var at = cap.ToString(CultureInfo.InvariantCulture);
                    AbortLive($"simulation stopped at the {at} s time cap");
                    FillMissing($"simulation stopped at the {at} s time cap before this request was sent");
                    return SimulationOutcome.TimeCapReached;
                }

                if (Engine.HasWork)
                {
                    var idleBefore = Engine.Stats.IdleSteps;
                    var endedBefore = Engine.Stats.Ended;
                    Engine.Step();
                    if (_options.CheckInvariants)
                    {
                        Engine.CheckInvariants();
                    }

                    ReleaseNextStages();
                    var progressed = Engine.Stats.IdleSteps == idleBefore || Engine.Stats.Ended != endedBefore;
                    idleSteps = progressed ? 0 : idleSteps + 1;
                    if (idleSteps >= _options.MaxIdleSteps && _next == _arrivals.Length && Engine.HasWork)
                    {
                        AbortLive($"scheduler '{Engine.PolicyName}' scheduled nothing for {idleSteps} consecutive steps with work pending; aborted");
                        EnsureComplete();
                        return SimulationOutcome.SchedulerStalled;
                    }
                }
                else if (_next < _arrivals.Length)
                {
                    var t = _arrivals[_next].TimeS;
                    _clock.AdvanceTo(_options.MaxSimulatedS is { } c ? Math.Min(t, c) : t);
                }
                else
                {
                    EnsureComplete();
                    return SimulationOutcome.Completed;
                }
            }
        }

        private static long? JobOf(RequestSpec spec) => spec.Class == RequestClass.Collective ? spec.JobId : null;

        /// <summary>Submits every arrival due by now with its own arrival time; true if any was submitted.</summary>
        private bool SubmitDue()
        {
            var any = false;
            while (_next < _arrivals.Length && _arrivals[_next].TimeS <= _clock.NowS)
            {
                var a = _arrivals[_next++];
                any = true;
                if (a.Job is { } job)
                {
                    ReleaseStage(job, 0, a.TimeS);
                }
                else
                {
                    Engine.Submit(_workload.Requests[a.SpecIndex], a.TimeS);
                }
            }

            return any;
        }

        /// <summary>Releases the next stage of every job whose current stage completed in the last step, at the step's end.</summary>
        private void ReleaseNextStages()
        {
            // Index loop: a release can, in principle, end calls synchronously (rejection) and touch the list.
            for (var i = 0; i < _stageDone.Count; i++)
            {
                var job = _stageDone[i];
                ReleaseStage(job, job.Stage + 1, _clock.NowS);
            }

            _stageDone.Clear();
        }

        private void ReleaseStage(Job job, int stage, double atS)
        {
            var calls = job.Stages[stage];
            job.Stage = stage;
            job.Outstanding = calls.Count;
            foreach (var index in calls)
            {
                Engine.Submit(_workload.Requests[index], atS);
            }
        }

        private void OnEnded(EngineRequest request, RequestRecord record)
        {
            var index = _indexById[record.Spec.Id];
            if (_records[index] is not null)
            {
                throw new InvalidOperationException($"request {record.Spec.Id} ended twice");
            }

            _records[index] = record;
            if (JobOf(record.Spec) is not { } jobId || !_jobs.TryGetValue(jobId, out var job) || job.Abandoned)
            {
                return;
            }

            if (!record.Completed)
            {
                Abandon(job, record);
            }
            else if (--job.Outstanding == 0 && job.Stage + 1 < job.Stages.Count)
            {
                _stageDone.Add(job);
            }
        }

        /// <summary>Gives every never-released call of the job an aborted record; calls already sent run on.</summary>
        private void Abandon(Job job, RequestRecord failed)
        {
            job.Abandoned = true;
            var how = failed.Reason == FinishReason.Rejected ? "rejected" : "aborted";
            var detail = $"job abandoned: call {failed.Spec.Id} was {how}" + (failed.Detail is { } d ? $" ({d})" : "");
            var now = _clock.NowS;
            for (var s = job.Stage + 1; s < job.Stages.Count; s++)
            {
                foreach (var index in job.Stages[s])
                {
                    _records[index] = new RequestRecord(_workload.Requests[index], now, [], now, FinishReason.Aborted, detail);
                }
            }
        }

        private void AbortLive(string detail)
        {
            var view = Engine.View;
            var live = new List<EngineRequest>(Engine.LiveRequests);
            live.AddRange(view.Waiting);
            live.AddRange(view.Running);
            live.AddRange(view.Swapped);
            foreach (var r in live)
            {
                Engine.Abort(r, detail);
            }
        }

        private void FillMissing(string detail)
        {
            var now = _clock.NowS;
            for (var i = 0; i < _records.Length; i++)
            {
                _records[i] ??= new RequestRecord(_workload.Requests[i], now, [], now, FinishReason.Aborted, detail);
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
    private sealed class Job(long id, int stageCountHint)
    {
        public long Id { get; } = id;

        /// <summary>Workload indices of the calls of each stage, in workload order.</summary>
        public List<List<int>> Stages { get; } = new(Math.Max(1, stageCountHint));

        /// <summary>The stage released last.</summary>
        public int Stage { get; set; } = -1;

        /// <summary>Calls of the current stage not yet ended.</summary>
        public int Outstanding { get; set; }

        /// <summary>True once a call failed: later stages are never released.</summary>
        public bool Abandoned { get; set; }

        public void Add(int stage, int index)
        {
            while (Stages.Count <= stage)
            {
                Stages.Add([]);
            }

            Stages[stage].Add(index);
        }
    }
}
