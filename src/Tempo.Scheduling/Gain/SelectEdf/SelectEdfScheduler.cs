using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Baselines;
using Tempo.Scheduling.Ordering;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Gain.SelectEdf;

/// <summary>
/// The <c>tempo</c> policy: select by value, order by urgency (docs/TEMPO.md). Every step it prices each live
/// request's remaining work in time (remaining prefill chunks and decode tokens, at step costs learned online) and
/// judges on an upper quantile of its remaining length whether the request can still meet its SLO: tier 0 (safe),
/// 1 (at risk) or 2 (SLO-dead). At each re-plan it then:
/// <list type="number">
/// <item>list-schedules the safe queue onto the batch's slots in latest-start order, and moves to tier 1 a request
/// that no slot frees in time for, so the requests behind it are judged on the capacity really left;</item>
/// <item>calls the machine overloaded when more queued requests are doomed than the batch holds (a backlog);</item>
/// <item>serves safe work least-laxity first while there is no backlog and by value density in bands under one, then
/// the work at risk by density, then SLO-dead work, which only gets what is left, longest first.</item>
/// </list>
/// The step itself is the chunked-prefill step shared with the baselines, visited in this order. The partial files
/// beside this one hold the pricing, the re-plans on kept prices, and shedding and displacement.
/// </summary>
internal sealed partial class SelectEdfScheduler : ChunkedPrefillScheduler
{
    private readonly SelectEdfOptions _options;
    private readonly ILengthPredictor _predictor;
    private readonly GainWeights _weights = GainWeights.Paper;
    private readonly StepTimeModel _time;
    private readonly List<EngineRequest> _live = [];
    private int _lastPrefillTokens;
    private readonly UrgencyThenValue _order;
    private double _lastShedS = double.NegativeInfinity;
    private readonly SlotSchedule _slots = new();
    private readonly List<Candidate> _queued = [];

    // The runners in order with their keys as the last step ranked them, and the buffers that keep it (RunnersInOrder).
    private List<KeyedRequest> _runnerKeys = [];
    private List<KeyedRequest> _runnerMerged = [];
    private readonly List<KeyedRequest> _runnerFresh = [];
    private readonly KeyedRequestView _runners = new();
    private long _runnerOrderStamp;

    // The typical value of the requests that arrived so far: the count bonus.
    private RunningMean _values;

    // The typical output of a job call so far: what a later stage of a chain is reckoned to need.
    private RunningMean _callTokens;

    // The stage count of the jobs seen so far (each counted once, at its first first-stage call): what a long job is.
    private RunningMean _jobStages;
    private long? _lastJobCounted;

    // Between re-plans only what moved is priced again: requests that arrived or were runners since the last step,
    // and queued requests whose tier is due to change by the clock (a min-heap of those times, stamped so that a
    // request priced again since leaves its old entry behind).
    private readonly List<EngineRequest> _arrived = [];
    private readonly List<EngineRequest> _lastRunners = [];
    private readonly PriorityQueue<(EngineRequest Request, int Stamp), double> _tierChanges = new();
    private readonly List<((EngineRequest Request, int Stamp) Entry, double AtS)> _changeBuffer = [];
    private readonly List<EngineRequest> _due = [];
    private int _stepsUntilReplan;

    // The waiting queue's head in order as the last re-plan saw it, and the queued requests priced since, which are all
    // the requests whose order key may have changed: between them they give the head of the queue without ranking it.
    // Each head entry keeps the key it was ranked by: an entry still valid has that key still (nothing moved it).
    private List<(KeyedRequest Key, int Stamp)> _waitingHead = [];
    private List<(KeyedRequest Key, int Stamp)> _mergedHead = [];
    private readonly List<EngineRequest> _repriced = [];

    // The safe requests whose slot verdict the last re-plan moved, which RecordVerdicts lists for the head's merge.
    private readonly List<EngineRequest> _verdictMoved = [];

    // Where the kept head's unchanged entries are, listed at a re-plan on kept prices for the head's merge.
    private readonly List<int> _unchangedAt = [];
    private readonly Ranking _head;
    private bool _waitingHeadWhole;
    private long _replans;
    private long _evaluation;

    // A re-plan within the drift tolerance keeps the prices of queued requests that did not move: the basis every kept
    // price was computed from, the re-plans since everything was priced, and the queued requests priced safe (tier 0),
    // which the slot schedule judges afresh at every re-plan.
    private PricingBasis _basis;
    private int _replansSinceFull;
    private List<EngineRequest> _safe = [];
    private List<EngineRequest> _safeNext = [];
    private long _safeMark;
    private bool _keptPrices;
    private long _keptPriceReplans;

    public SelectEdfScheduler(string name, SelectEdfOptions options, ILengthPredictor predictor, StepCostPrior? prior = null, int tokenBudget = 0)
        : this(name, Validated(options), predictor, prior, tokenBudget, new UrgencyThenValue(options))
    {
    }

    private SelectEdfScheduler(string name, SelectEdfOptions options, ILengthPredictor predictor, StepCostPrior? prior, int tokenBudget, UrgencyThenValue order)
        : base(name, order, PreemptionMode.Recompute)
    {
        _order = order;
        _head = new Ranking(order);
        _options = options;
        _predictor = predictor;
        _time = prior is null ? new StepTimeModel(options.InitialStepS) : new StepTimeModel(prior, tokenBudget: tokenBudget);
    }

    private static SelectEdfOptions Validated(SelectEdfOptions options)
    {
        options.Validate();
        return options;
    }

    /// <summary>Whether the last <see cref="IScheduler.Plan"/> ran the whole selection (for the decision-cost benchmark).</summary>
    internal bool LastPlanReplanned { get; private set; }

    /// <summary>Re-plans run so far (when the steps between re-plans keep anything), and how many of them kept prices.</summary>
    internal (long Replans, long KeptPrices) ReplanCounts => (_replans, _keptPriceReplans);

    /// <summary>Test hook: check every waiting head and runner order read from kept ones against a ranking of the whole queue (slow).</summary>
    internal bool VerifyKeptOrders { get; init; }

    /// <summary>The step-cost estimates in use.</summary>
    internal StepTimeModel StepTime => _time;

    /// <inheritdoc />
    public override void OnArrival(EngineRequest request)
    {
        var state = new PricedRequest(_predictor.Predict(request.Spec));
        request.PolicyState = state;
        request.LengthBound = state.Posterior.QuantileAfter(0, _options.FeasibilityQuantile);
        var typical = state.Posterior.QuantileAfter(0, _options.RankQuantile);
        _values.Add(_weights.Of(request.PromptTokens, typical));
        if (request.Spec.Class == RequestClass.Collective)
        {
            // The calls of a job's first stage arrive together, so one job is counted once.
            if (request.Spec.Stage == 0 && request.Spec.JobId is { } job && job != _lastJobCounted)
            {
                _jobStages.Add(request.Spec.StageCount);
                _lastJobCounted = job;
            }

            _callTokens.Add(typical);
        }
        if (_options.ReplanSteps > 1)
        {
            _arrived.Add(request);
        }
    }

    /// <inheritdoc />
    public override void OnStepExecuted(SchedulerView view, double durationS)
    {
        if (_options.OnlineStepTime && view.Running.Count > 0)
        {
            _time.Observe(durationS, _lastPrefillTokens);
        }

        // A latency stream whose gap exceeded its TBT has missed its SLO for good (attainment is per gap).
        var running = view.Running;
        for (var i = 0; i < running.Count; i++)
        {
            var r = running[i];
            if (r.Spec.Class == RequestClass.Latency && r.PolicyState is PricedRequest s && r.Generated >= 2)
            {
                var t = r.TokenTimesS;
                if (t[^1] - t[^2] > r.Spec.Slo.TbtS + ServiceGain.Tolerance)
                {
                    s.SloLost = true;
                }
            }
        }
    }

    /// <inheritdoc />
    protected override StepPlan PlanStep(SchedulerView view)
    {
        Evaluate(view);
        var budget = view.NewBudget();
        if (_options.ShedUnattainable)
        {
            Shed(budget, view.NowS, view.Config);
        }

        if (_options.GapAwareChunks)
        {
            PrefillTokensLeft = StreamSafePrefillTokens(view);
        }

        var preempted = _options.Preempt && DisplaceForUrgent(view, budget);
        if (_options.PrefillsInOrder)
        {
            preempted = ScheduleWithPrefillsInOrder(view, budget, preempted);
        }
        else
        {
            preempted |= ScheduleRunning(view, budget);
            if (!preempted)
            {
                ScheduleSwapped(view, budget);
            }

            ScheduleWaiting(view, budget);
        }

        var plan = budget.Build();
        _lastPrefillTokens = 0;
        foreach (var work in plan.Scheduled)
        {
            if (work.Request.IsPrefill)
            {
                _lastPrefillTokens += work.Tokens;
            }
        }

        return plan;
    }

    /// <summary>
    /// The most prefill tokens this step may carry so that it still ends before the next token of every running stream
    /// that can meet its SLO is due, even if it runs long by <see cref="SelectEdfOptions.GapMarginSpreads"/> times the
    /// model's relative error: the tightest such stream's slack over that stretch, less a decode step, over the
    /// marginal cost of a prefill token. A stream that a decode-only step would not save either does not count.
    /// Unlimited when no such stream runs or no chunk has been measured yet.
    /// </summary>
    private int StreamSafePrefillTokens(SchedulerView view)
    {
        var perToken = _time.PrefillTokenS;
        if (!(perToken > 0))
        {
            return int.MaxValue;
        }

        var now = view.NowS;

        // A step may run this much over its prediction and still be on time (real steps stray by tens of percent).
        var stretch = 1 + (_options.GapMarginSpreads * _time.RelativeSpread);
        var decodeStep = _time.DecodeS * stretch;
        var tightest = double.PositiveInfinity;
        var running = view.Running;
        for (var i = 0; i < running.Count; i++)
        {
            var r = running[i];
            if (r.Spec.Class != RequestClass.Latency || r.Generated == 0 || r.IsPrefill || PricedRequest.Of(r).SloLost)
            {
                continue;
            }

            var slack = r.TokenTimesS[^1] + r.Spec.Slo.TbtS - now;
            if (slack >= decodeStep && slack < tightest)
            {
                tightest = slack;
            }
        }

        return double.IsPositiveInfinity(tightest) ? int.MaxValue : (int)Math.Min(int.MaxValue, Math.Floor(((tightest / stretch) - _time.DecodeS) / perToken));
    }

    // Prices every live request and picks the selected set at a re-plan; prices only what moved in between.
    private void Evaluate(SchedulerView view)
    {
        _evaluation++;
        LastPlanReplanned = --_stepsUntilReplan <= 0;
        if (!LastPlanReplanned)
        {
            EvaluateMoved(view);
            return;
        }

        _stepsUntilReplan = _options.ReplanSteps;
        var now = view.NowS;
        var bonus = Bonus();
        var basis = PricingBasis.Of(_time, bonus);
        _keptPrices = MayKeepPrices(basis);
        if (_keptPrices)
        {
            _replansSinceFull++;
            _keptPriceReplans++;
            ReplanMoved(view);
            return;
        }

        _basis = basis;
        _replansSinceFull = 0;
        CollectLive(view);
        // _live holds the runners first, then the queued (waiting and swapped) requests.
        var running = view.Running.Count;
        var anyAtRisk = false;
        var queuedAtRisk = 0;
        for (var i = 0; i < _live.Count; i++)
        {
            Price(_live[i], now, bonus, view.Config);
            var atRisk = PricedRequest.Of(_live[i]).Tier != 0;
            anyAtRisk |= atRisk;
            queuedAtRisk += i >= running && atRisk ? 1 : 0;
        }

        if (!_options.Select)
        {
            // Without a schedule to judge load by, any request at risk counts as overload.
            _order.Overloaded = anyAtRisk;
            return;
        }

        // Overload is a backlog: more queued requests doomed (shed by the slot schedule, or at risk on their own
        // length bound) than the batch can hold. A request at risk alone, or a runner that outgrew its estimate, is
        // not load (measured: switching on any request at risk cost up to 8% SLO goodput against EDF at moderate
        // load), and neither is a single shed in a burst (SlotSchedule.Backlogged says what that cost).
        _safe.Clear();
        for (var i = running; i < _live.Count; i++)
        {
            if (PricedRequest.Of(_live[i]).Tier == 0)
            {
                _safe.Add(_live[i]);
            }
        }

        SelectBySlots(view, now);
        RecordVerdicts(-1);
        _order.Overloaded = IsOverloaded(queuedAtRisk);
        if (_options.ReplanSteps > 1)
        {
            RememberReplan(view);
        }
    }

    // Every live request into _live: the runners first, then the queued (waiting and swapped) ones.
    private void CollectLive(SchedulerView view)
    {
        _live.Clear();
        _live.AddRange(view.Running);
        _live.AddRange(view.Waiting);
        _live.AddRange(view.Swapped);
    }

    private bool IsOverloaded(int queuedAtRisk) =>
        _options.BacklogOverload ? _slots.Backlogged(queuedAtRisk, _lastShedS) : _slots.Overloaded(queuedAtRisk, _lastShedS);

    // List-schedules the queued feasible requests in latest-start order onto the batch's slots (each runner holds its
    // slot for its remaining typical time). A request that would miss its due time in that schedule is shed to tier 1
    // and takes no slot, so the requests behind it are judged on the capacity that is really left.
    private void SelectBySlots(SchedulerView view, double now)
    {
        _slots.Begin(now);
        var running = view.Running;
        for (var i = 0; i < running.Count; i++)
        {
            _slots.AddSlot(now + PricedRequest.Of(running[i]).TypicalS);
        }

        for (var i = running.Count; i < view.Config.MaxBatch; i++)
        {
            _slots.AddSlot(now);
        }

        // Keys are read once per request (not per comparison) and are unique (submission order breaks ties), so any
        // sort gives this exact order.
        _queued.Clear();
        foreach (var r in _safe)
        {
            var s = PricedRequest.Of(r);
            _queued.Add(new Candidate(s.LatestStartS, r.Sequence, r, s));
        }

        _queued.Sort();
        foreach (var (_, _, r, s) in _queued)
        {
            var lead = r.Spec.Class == RequestClass.Latency ? s.FirstTokenS : s.TypicalS;
            if (!_slots.TryPlace(lead, s.TypicalS, s.DueS))
            {
                s.Tier = 1;
                s.ShedForSlot = true;
            }
        }
    }

    /// <summary>A queued request offered to the slot schedule, with its latest start read once.</summary>
    private readonly record struct Candidate(double LatestStartS, long Sequence, EngineRequest Request, PricedRequest Price) : IComparable<Candidate>
    {
        public int CompareTo(Candidate other)
        {
            var c = LatestStartS.CompareTo(other.LatestStartS);
            return c != 0 ? c : Sequence.CompareTo(other.Sequence);
        }
    }
}
