using Tempo.Engine;

namespace Tempo.Scheduling.Collective;

/// <summary>
/// Follows one collective job as its calls arrive and end (§5.1): the stage in progress, the closed stages as
/// (Σ input, Σ output) super-nodes with their wall times, and the job's live calls. A stage closes when its
/// expected number of calls has completed (ToT), when a call of a later stage arrives, or, for the last stage,
/// when every call that arrived has ended. Stages run one after another, so a later arrival proves the earlier
/// stage is done.
/// </summary>
internal sealed class CollectionTracker
{
    // The artifact's floor on a stage's wall time.
    private const double MinStageTimeS = 1e-3;

    private readonly List<StageNode> _closed = [];
    private readonly List<double> _stageTimes = [];
    private readonly int[]? _expectedCalls;
    private double _lastCloseS;
    private bool _currentClosed;
    private int _arrived;
    private int _ended;
    private long _sumIn;
    private long _sumOut;
    private double _lastEndS;

    /// <summary>Creates the tracker of a job when its first call is seen.</summary>
    /// <param name="jobId">Job id.</param>
    /// <param name="app">Application name as the request declared it (normalised here).</param>
    /// <param name="stageCount">Stages of the job as declared (1 when unknown).</param>
    /// <param name="jobArrivalS">When the job arrived.</param>
    /// <param name="jobDeadlineS">The whole job's deadline, relative to its arrival.</param>
    public CollectionTracker(long jobId, string? app, int stageCount, double jobArrivalS, double jobDeadlineS)
    {
        JobId = jobId;
        App = CollectiveApp.Normalise(app);
        StageCount = Math.Max(1, stageCount);
        JobArrivalS = jobArrivalS;
        JobDeadlineS = jobDeadlineS;
        _expectedCalls = CollectiveApp.ExpectedCalls(App, StageCount);
        _lastCloseS = jobArrivalS;
    }

    /// <summary>Job id.</summary>
    public long JobId { get; }

    /// <summary>Normalised application name.</summary>
    public string App { get; }

    /// <summary>Declared number of stages.</summary>
    public int StageCount { get; }

    /// <summary>When the job arrived.</summary>
    public double JobArrivalS { get; }

    /// <summary>Deadline of the whole job, relative to its arrival.</summary>
    public double JobDeadlineS { get; }

    /// <summary>Calls expected per stage when the application fixes them; null when unknown.</summary>
    public IReadOnlyList<int>? ExpectedCalls => _expectedCalls;

    /// <summary>Stage of the most recent call; −1 before any call.</summary>
    public int CurrentStage { get; private set; } = -1;

    /// <summary>Closed stages in order, as super-nodes.</summary>
    public IReadOnlyList<StageNode> ClosedStages => _closed;

    /// <summary>Wall time of each closed stage (from the previous stage's close), at least 1 ms.</summary>
    public IReadOnlyList<double> StageTimesS => _stageTimes;

    /// <summary>True once the last stage has closed.</summary>
    public bool Finished { get; private set; }

    /// <summary>True when any call ended without completing (the job can no longer be a template).</summary>
    public bool Failed { get; private set; }

    /// <summary>Live calls of the job, maintained by the scheduler: every peer shares the job's priority.</summary>
    public List<EngineRequest> Live { get; } = [];

    /// <summary>Scheduler epoch in which <see cref="KeyDensity"/> and <see cref="KeyRemainingS"/> were computed; −1 when stale.</summary>
    public long KeyEpoch { get; set; } = -1;

    /// <summary>Cached job density (Σ peer gain ÷ job remaining time).</summary>
    public double KeyDensity { get; set; }

    /// <summary>Cached job remaining time.</summary>
    public double KeyRemainingS { get; set; }

    /// <summary>Re-plan scratch mark: equal to the re-plan's id once the job has been considered for a top-up.</summary>
    public long ReplanMark { get; set; }

    /// <summary>Records a call arriving in <paramref name="stage"/>; closes the stages before it.</summary>
    public void CallArrived(int stage, double nowS)
    {
        if (stage > CurrentStage)
        {
            if (CurrentStage >= 0 && !_currentClosed)
            {
                CloseCurrent(_ended > 0 ? _lastEndS : nowS);
            }

            // A stage that never showed a call (should not happen) still occupies its slot in the structure.
            for (var s = Math.Max(CurrentStage + 1, _closed.Count); s < stage; s++)
            {
                _closed.Add(default);
                _stageTimes.Add(MinStageTimeS);
            }

            CurrentStage = stage;
            _currentClosed = false;
            _arrived = 0;
            _ended = 0;
            _sumIn = 0;
            _sumOut = 0;
        }

        if (stage == CurrentStage)
        {
            _arrived++;
        }
    }

    /// <summary>Records a call of <paramref name="stage"/> ending; returns true when this finished the job.</summary>
    public bool CallEnded(int stage, int inputTokens, int outputTokens, bool completed, double nowS)
    {
        if (!completed)
        {
            Failed = true;
        }

        if (stage != CurrentStage || _currentClosed || Finished)
        {
            return false;
        }

        _ended++;
        _sumIn += inputTokens;
        _sumOut += outputTokens;
        _lastEndS = nowS;
        var complete = _expectedCalls is { } expected && stage < expected.Length
            ? _ended >= expected[stage]
            : stage == StageCount - 1 && _ended >= _arrived;
        if (!complete)
        {
            return false;
        }

        CloseCurrent(nowS);
        Finished = stage >= StageCount - 1;
        return Finished;
    }

    /// <summary>The finished job as a template whose stage shares are the measured stage times (the artifact's default).</summary>
    public GraphTemplate ToTemplate() => GraphTemplate.FromStageWork(App, _closed, _stageTimes);

    private void CloseCurrent(double closeS)
    {
        _closed.Add(new StageNode(_sumIn, _sumOut));
        _stageTimes.Add(Math.Max(MinStageTimeS, closeS - _lastCloseS));
        _lastCloseS = Math.Max(_lastCloseS, closeS);
        _currentClosed = true;
    }
}
