using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Collective;
using Tempo.Scheduling.Prediction;
using Tempo.Workloads;

namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>
/// Tempo / JITServe (docs/TEMPO.md §2.5, §3): service-gain density priority over conservative, refined
/// length bounds, with a plain priority-ordered chunked-prefill step on most calls and a grouped re-plan every R
/// calls. Collective jobs share one key and get per-stage deadlines from matched job templates (§5).
/// </summary>
internal sealed class TempoScheduler : IScheduler
{
    private readonly TempoOptions _options;
    private readonly ILengthPredictor _predictor;
    private readonly IReadOnlyDictionary<long, RecordedJob>? _trueGraphs;
    private readonly Dictionary<long, CollectionTracker> _jobs = [];
    private readonly UnitTimeEstimator _unitTime;
    private readonly PriorityBook _book;
    private readonly NormalStep _normal;
    private readonly ReplanSelector _replan;
    private readonly CpuSwapHysteresis _swapGate;
    private readonly DullAbortCounter _dull;
    // Job state kept without live calls: swept every JobSweepInterval arrivals, bounded by MaxIdleJobs.
    private const int JobSweepInterval = 1024;
    private const int MaxIdleJobs = 10_000;
    private long _calls;
    private long _arrivals;
    private int _maxSequences;
    private int _lastScheduled;
    private double _lastNowS;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="name">Registry name.</param>
    /// <param name="engine">Engine limits.</param>
    /// <param name="options">Tempo parameters.</param>
    /// <param name="predictor">Length predictor (fixed 1024, QRF, or the oracle).</param>
    /// <param name="templates">Collective-job templates (seeded library).</param>
    /// <param name="trueGraphs">True job graphs for the oracle's precise stage ratios; null to match templates.</param>
    public TempoScheduler(string name, EngineConfig engine, TempoOptions options, ILengthPredictor predictor, TemplateLibrary templates, IReadOnlyDictionary<long, RecordedJob>? trueGraphs = null)
    {
        options.Validate();
        Name = name;
        _options = options;
        _predictor = predictor;
        Templates = templates;
        _trueGraphs = trueGraphs;
        _unitTime = new UnitTimeEstimator(options.InitialUnitTimeS, options.UnitTimeSmoothing);
        _book = new PriorityBook(options, _unitTime);
        _normal = new NormalStep(options, _book, _unitTime);
        _replan = new ReplanSelector(options, _book, _unitTime);
        _swapGate = new CpuSwapHysteresis(options.SwapLowWatermark, options.SwapHighWatermark);
        _dull = new DullAbortCounter(options.DullPendingLimit, options.DullMaxIdleSteps);
        _maxSequences = engine.MaxBatch;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The template library (grows with finished jobs).</summary>
    internal TemplateLibrary Templates { get; }

    /// <summary>The unit time estimator.</summary>
    internal UnitTimeEstimator UnitTime => _unitTime;

    /// <summary>The priority book.</summary>
    internal PriorityBook Book => _book;

    /// <summary>The re-plan stage, for inspection.</summary>
    internal ReplanSelector Replan => _replan;

    /// <summary>Sequence cap of normal steps as set by the last re-plan (Step F).</summary>
    internal int MaxSequences => _maxSequences;

    /// <summary>Re-plan steps run (skipped ones, while CPU swap space is short, excluded).</summary>
    internal long Replans { get; private set; }

    /// <summary>Live collective jobs being tracked.</summary>
    internal IReadOnlyDictionary<long, CollectionTracker> Jobs => _jobs;

    /// <inheritdoc />
    public StepPlan Plan(SchedulerView view)
    {
        _calls++;
        _book.NowS = view.NowS;
        _lastNowS = view.NowS;
        StepPlan plan;
        if (_dull.Observe(view.Running.Count, view.Waiting.Count + view.Swapped.Count, _lastScheduled))
        {
            plan = DropAllPending(view);
        }
        else if (_calls % _options.ReplanInterval == 0 && StartEpoch(view))
        {
            Replans++;
            plan = _replan.Plan(view, _maxSequences);
            _maxSequences = _replan.Last.NextMaxSequences;
        }
        else
        {
            plan = _normal.Plan(view, _maxSequences);
        }

        _lastScheduled = plan.Scheduled.Count;
        return plan;
    }

    /// <inheritdoc />
    public void OnArrival(EngineRequest request)
    {
        if (++_arrivals % JobSweepInterval == 0)
        {
            ExpireJobs(request.ArrivalS > _lastNowS ? request.ArrivalS : _lastNowS);
        }

        var posterior = _predictor.Predict(request.Spec);
        var state = new TempoRequestState(posterior);
        request.LengthBound = posterior.BoundAfter(request.Generated);
        state.LastBound = request.LengthBound;
        state.RefinedAtGenerated = request.Generated;
        request.PolicyState = state;
        if (request.Spec.JobId is { } jobId && request.Spec.Class == RequestClass.Collective)
        {
            var job = TrackerFor(jobId, request.Spec);
            job.CallArrived(request.Spec.Stage, request.ArrivalS);
            job.Live.Add(request);
            state.Job = job;
            state.DeadlineS = CallDeadline(job, request);
            PriorityBook.InvalidateJob(job);
        }
    }

    /// <inheritdoc />
    public void OnStepExecuted(SchedulerView view, double durationS)
    {
        _lastNowS = view.NowS;

        // u is the time per iteration that does work; an idle tick says nothing about it.
        if (_lastScheduled > 0)
        {
            _unitTime.Observe(durationS);
        }

        var running = view.Running;
        for (var i = 0; i < running.Count; i++)
        {
            Refine(running[i], force: false);
        }
    }

    /// <inheritdoc />
    public void OnFinished(EngineRequest request)
    {
        if (request.PolicyState is not TempoRequestState state || state.Job is not { } job)
        {
            return;
        }

        job.Live.Remove(request);
        PriorityBook.InvalidateJob(job);

        // Without a stop reason here, a call counts as completed when it produced its tokens and Tempo did not drop it.
        var completed = !state.DroppedByPolicy && request.Generated > 0;
        var endS = request.TokenTimesS.Count > 0 ? request.TokenTimesS[^1] : _lastNowS;
        var finished = job.CallEnded(request.Spec.Stage, request.PromptTokens, request.Generated, completed, endS);
        if (finished && !job.Failed)
        {
            Templates.Add(job.ToTemplate());
        }

        if (finished || (job.Failed && job.Live.Count == 0))
        {
            _jobs.Remove(job.JobId);
        }
    }

    /// <summary>The deadline of a new collective call relative to its arrival (§5.4, §5.5 with Q16 and the positive floor).</summary>
    private double CallDeadline(CollectionTracker job, EngineRequest request)
    {
        var stage = request.Spec.Stage;
        var fraction = _trueGraphs is not null && _trueGraphs.TryGetValue(job.JobId, out var graph)
            ? StageDeadline.PreciseFraction(graph, stage)
            : Templates.CumulativeFraction(job.App, job.StageCount, job.ClosedStages, stage);
        var served = request.ArrivalS - job.JobArrivalS;
        var floor = request.Spec.Slo.TtftS > 0 ? request.Spec.Slo.TtftS : _options.InitialUnitTimeS;
        return StageDeadline.ForCall(job.JobDeadlineS, fraction, served, floor);
    }

    /// <summary>
    /// Forgets jobs with no live call whose deadline has passed (a job that never sent its last stage would otherwise
    /// stay forever), then, if idle jobs still exceed <see cref="MaxIdleJobs"/>, the oldest idle ones. A later call
    /// of a forgotten job starts a fresh tracker against the same job deadline, which has passed anyway.
    /// </summary>
    private void ExpireJobs(double nowS)
    {
        var idle = _jobs.Values.Where(j => j.Live.Count == 0).OrderBy(j => j.JobArrivalS).ToList();
        var excess = idle.Count - MaxIdleJobs;
        foreach (var job in idle)
        {
            if (excess-- > 0 || nowS > job.JobArrivalS + job.JobDeadlineS)
            {
                _jobs.Remove(job.JobId);
            }
        }
    }

    private CollectionTracker TrackerFor(long jobId, RequestSpec spec)
    {
        if (!_jobs.TryGetValue(jobId, out var job))
        {
            job = new CollectionTracker(jobId, spec.App, spec.StageCount, spec.ArrivalS, spec.Slo.DeadlineS);
            _jobs.Add(jobId, job);
        }

        return job;
    }

    // §3.2: every R-th call starts a new key epoch (u is already measured per step) and refreshes the length
    // bounds (§4.3); the re-plan itself runs only while CPU swap space is healthy.
    private bool StartEpoch(SchedulerView view)
    {
        _book.StartEpoch();
        RefineAll(view.Running);
        RefineAll(view.Waiting);
        RefineAll(view.Swapped);
        return _swapGate.Update(view.Kv.FreeCpuFraction, view.Kv.TotalCpuBlocks > 0);
    }

    private void RefineAll(IReadOnlyList<EngineRequest> queue)
    {
        for (var i = 0; i < queue.Count; i++)
        {
            Refine(queue[i], force: true);
        }
    }

    // §4.3: re-read the posterior every K tokens (and at each re-plan, and whenever the engine had to raise the
    // bound because generation reached it); a changed bound makes the key stale at once.
    private void Refine(EngineRequest r, bool force)
    {
        var s = PriorityBook.State(r);
        var due = r.Generated - s.RefinedAtGenerated >= _options.RefineEveryTokens || (force && r.Generated != s.RefinedAtGenerated);
        if (!due && r.LengthBound == s.LastBound)
        {
            return;
        }

        s.RefinedAtGenerated = r.Generated;
        r.LengthBound = s.Posterior.BoundAfter(r.Generated);
        if (r.LengthBound != s.LastBound)
        {
            s.LastBound = r.LengthBound;
            PriorityBook.Invalidate(r);
        }
    }

    private static StepPlan DropAllPending(SchedulerView view)
    {
        var budget = view.NewBudget();
        DropAll(view.Waiting, budget);
        DropAll(view.Swapped, budget);
        return budget.Build();
    }

    private static void DropAll(IReadOnlyList<EngineRequest> queue, StepBudget budget)
    {
        for (var i = 0; i < queue.Count; i++)
        {
            PriorityBook.State(queue[i]).DroppedByPolicy = true;
            budget.Drop(queue[i], "dull abort: nothing could run for too many consecutive scheduler calls");
        }
    }
}
