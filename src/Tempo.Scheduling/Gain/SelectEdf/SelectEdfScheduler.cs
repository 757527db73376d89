using System.Runtime.CompilerServices;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Baselines;
using Tempo.Scheduling.Ordering;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Gain.SelectEdf;

/// <summary>
/// The <c>tempo</c> policy: select by value, order by urgency (docs/TEMPO.md). Every step it prices each live
/// request's remaining work in time (remaining prefill chunks and decode tokens, at step costs learned online),
/// judges whether the request can still meet its SLO on an upper quantile of its remaining length, and then:
/// <list type="number">
/// <item>walks the feasible requests in deadline order, accumulating their demand on the machine; when the demand
/// due by some deadline exceeds the time left, it sheds the request with the least value per unit of work among
/// those taken so far (the classic overload answer: choose by value, then meet deadlines with EDF);</item>
/// <item>serves the selected requests least-laxity first (latest start time), then the feasible ones it could not
/// fit, by value density, then SLO-dead work, which only gets what is left;</item>
/// <item>when a selected request waits while the batch is full, displaces a runner outside the selected set in the
/// same step (bounded per step).</item>
/// </list>
/// The step itself is the chunked-prefill step shared with the baselines, visited in this order.
/// </summary>
internal sealed class SelectEdfScheduler : ChunkedPrefillScheduler
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
        var state = new State(_predictor.Predict(request.Spec));
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
            if (r.Spec.Class == RequestClass.Latency && r.PolicyState is State s && r.Generated >= 2)
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
            if (r.Spec.Class != RequestClass.Latency || r.Generated == 0 || r.IsPrefill || StateOf(r).SloLost)
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

    // Read for every request the scheduler touches, several times a step: the throw lives in its own method so that
    // this stays small enough to inline.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static State StateOf(EngineRequest r) => r.PolicyState as State ?? NoState(r);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static State NoState(EngineRequest r) =>
        throw new InvalidOperationException($"{r} has no tempo state (OnArrival not called)");

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
            var atRisk = StateOf(_live[i]).Tier != 0;
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
            if (StateOf(_live[i]).Tier == 0)
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

    // A first-stage call of a job with more stages than the jobs seen so far, not started yet.
    private bool IsLongJobNotStarted(EngineRequest r) =>
        r.Spec.Class == RequestClass.Collective && r.Spec.Stage == 0 && r.Generated == 0 && r.State == RequestState.Waiting
        && r.Spec.StageCount > _jobStages.Mean;

    // Every live request into _live: the runners first, then the queued (waiting and swapped) ones.
    private void CollectLive(SchedulerView view)
    {
        _live.Clear();
        _live.AddRange(view.Running);
        _live.AddRange(view.Waiting);
        _live.AddRange(view.Swapped);
    }

    private double Bonus() => _options.CountBonus ? _values.Mean : 0;

    private bool IsOverloaded(int queuedAtRisk) =>
        _options.BacklogOverload ? _slots.Backlogged(queuedAtRisk, _lastShedS) : _slots.Overloaded(queuedAtRisk, _lastShedS);

    // Whether this re-plan may keep the prices of queued requests that did not move: only when the steps between
    // re-plans keep them too (the structures that tell what moved exist), the selection runs, and the basis is close
    // to the one everything was last priced on, within a bounded number of re-plans.
    private bool MayKeepPrices(PricingBasis basis)
    {
        if (!(_options.ReplanDrift > 0) || !_options.Select || _options.ReplanSteps == 1 || _replans == 0)
        {
            return false;
        }

        return _replansSinceFull + 1 < _options.FullReplanEvery && basis.DriftFrom(_basis, _options.MarginSigmas) <= _options.ReplanDrift;
    }

    // A re-plan on kept prices: what moved is priced as between re-plans; the safe queue (last re-plan's safe requests
    // that still are, and those priced safe since) is list-scheduled again and overload judged again; the waiting
    // head is merged from the kept one and the requests whose order key may have changed.
    private void ReplanMoved(SchedulerView view)
    {
        var now = view.NowS;
        EvaluateMoved(view);

        // Shedding judges every live request at a re-plan; nothing else reads the whole list here.
        if (_options.ShedUnattainable)
        {
            CollectLive(view);
        }

        var mark = ++_safeMark;
        _safeNext.Clear();
        KeepSafe(_safe, mark);
        KeepSafe(_repriced, mark);
        (_safe, _safeNext) = (_safeNext, _safe);
        _safeNext.Clear();

        // Every queued request carries the tier of its last pricing, so the ones at risk are the queued ones not safe.
        var queuedAtRisk = view.Waiting.Count + view.Swapped.Count - _safe.Count;
        SelectBySlots(view, now);
        RecordVerdicts(mark);
        var wasOverloaded = _order.Overloaded;
        _order.Overloaded = IsOverloaded(queuedAtRisk);
        RememberMovedReplan(view, mark, rerank: wasOverloaded != _order.Overloaded);
    }

    // Adds the queued requests of `requests` last priced safe to the next safe list, once, with the slot verdict cleared.
    private void KeepSafe(List<EngineRequest> requests, long mark)
    {
        foreach (var r in requests)
        {
            var s = StateOf(r);
            if (s.PricedTier == 0 && s.SafeMark != mark && r.State is RequestState.Waiting or RequestState.Swapped)
            {
                s.SafeMark = mark;
                s.Tier = 0;
                s.ShedForSlot = false;
                _safeNext.Add(r);
            }
        }
    }

    // The waiting head after a re-plan on kept prices. A waiting request outside the kept head whose key did not change
    // ranks below every kept entry whose key did not change either; the safe requests' keys may have changed with
    // their slot verdict, and the requests priced since with their price. So merging the unchanged kept entries with
    // those gives the exact head as long as the unchanged kept entries: it shrinks until the queue is ranked again.
    private void RememberMovedReplan(SchedulerView view, long mark, bool rerank)
    {
        _replans++;

        // Where the kept head's entries whose key did not change are, in order (indices, so that listing them writes
        // no references).
        _unchangedAt.Clear();
        for (var i = 0; i < _waitingHead.Count; i++)
        {
            var (key, stamp) = _waitingHead[i];
            if (KeptUnchanged(key.Request, stamp, mark))
            {
                _unchangedAt.Add(i);
            }
        }

        var kept = _unchangedAt.Count;

        var headLength = WaitingHeadLength(view.Config);
        if (rerank || (!_waitingHeadWhole && kept < headLength))
        {
            RankWaitingHead(view, KeptHeadFactor * headLength);
        }
        else
        {
            MergeWaitingHead(view.NowS, mark, _waitingHeadWhole ? int.MaxValue : kept);
        }

        _repriced.Clear();
    }

    // Remembers, after a re-plan, what the steps until the next one need to tell what moved.
    private void RememberReplan(SchedulerView view)
    {
        _replans++;
        _repriced.Clear();
        RankWaitingHead(view, (_options.ReplanDrift > 0 ? KeptHeadFactor : 1) * WaitingHeadLength(view.Config));
        _arrived.Clear();
        _lastRunners.Clear();
        _lastRunners.AddRange(view.Running);
        _tierChanges.Clear();
        _changeBuffer.Clear();
        for (var i = view.Running.Count; i < _live.Count; i++)
        {
            var s = StateOf(_live[i]);
            if (s.NextChangeS < double.PositiveInfinity)
            {
                _changeBuffer.Add(((_live[i], s.Stamp), s.NextChangeS));
            }
        }

        _tierChanges.EnqueueRange(_changeBuffer);
        _changeBuffer.Clear();
    }

    // A step between re-plans: the runners are priced again (their lengths and times moved), and so are queued
    // requests that are new, were preempted since the last step, or whose tier change time has passed. Everything else
    // keeps the price, order and slot verdict of the last re-plan, and overload is judged there too.
    private void EvaluateMoved(SchedulerView view)
    {
        var now = view.NowS;
        var bonus = Bonus();
        _live.Clear();
        _live.AddRange(view.Running);
        AddQueued(_lastRunners); // preempted since the last step
        AddQueued(_arrived);

        // Strictly past: a tier changes once `now` exceeds its threshold, as in Price. Each entry is priced once per
        // step, so a threshold that rounding puts a hair after `now` waits for the next step instead of looping.
        while (_tierChanges.TryPeek(out var entry, out var atS) && atS < now)
        {
            _tierChanges.Dequeue();
            if (StateOf(entry.Request).Stamp == entry.Stamp && entry.Request.State is RequestState.Waiting or RequestState.Swapped)
            {
                _due.Add(entry.Request);
            }
        }

        // A runner's price is read by the slot schedule and the overload test, which only run at re-plans (and a re-plan
        // prices every runner first), and by the runners' order, which only decides whom to evict under KV pressure.
        // So between re-plans a runner is priced only while it prefills, when its order also decides whose prompt gets
        // the step's prefill tokens; a decoding runner keeps the price of the last re-plan, at most a few tokens old.
        foreach (var r in view.Running)
        {
            if (LastPlanReplanned || r.IsPrefill)
            {
                Price(r, now, bonus, view.Config);
            }
        }

        foreach (var r in _due)
        {
            var s = StateOf(r);
            if (s.PricedIn == _evaluation)
            {
                continue; // listed twice (arrived and due, say)
            }

            Price(r, now, bonus, view.Config);
            _live.Add(r);
            ListRepriced(r, s);

            if (s.NextChangeS < double.PositiveInfinity)
            {
                _tierChanges.Enqueue((r, s.Stamp), s.NextChangeS);
            }
        }

        _due.Clear();
        _arrived.Clear();
        _lastRunners.Clear();
        _lastRunners.AddRange(view.Running);
    }

    // List-schedules the queued feasible requests in latest-start order onto the batch's slots (each runner holds its
    // slot for its remaining typical time). A request that would miss its due time in that schedule is shed to tier 1
    // and takes no slot, so the requests behind it are judged on the capacity that is really left.
    private void SelectBySlots(SchedulerView view, double now)
    {
        _slots.Begin(now);
        var running = view.Running;
        for (var i = 0; i < running.Count; i++)
        {
            _slots.AddSlot(now + StateOf(running[i]).TypicalS);
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
            var s = StateOf(r);
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

    // The new waiting head: the kept entries whose keys did not change (listed in _unchangedAt), in order, merged
    // with the changed ones (priced again since, or moved by the slot verdict) ranked among themselves, up to `length`
    // entries.
    private void MergeWaitingHead(double now, long mark, int length)
    {
        _head.Reset(int.MaxValue, now);
        foreach (var r in _repriced)
        {
            var s = StateOf(r);
            if (r.State == RequestState.Waiting && s.OfferedMark != mark)
            {
                s.OfferedMark = mark;
                _head.Offer(r);
            }
        }

        // A safe request not priced since keeps its key unless this re-plan's slot verdict moved it.
        foreach (var r in _verdictMoved)
        {
            var s = StateOf(r);
            if (r.State == RequestState.Waiting && s.OfferedMark != mark)
            {
                s.OfferedMark = mark;
                _head.Offer(r);
            }
        }

        _mergedHead.Clear();
        var changed = 0;
        var changedKeys = _head.Keys;
        var changedCount = changedKeys.Length;
        var next = changedCount > 0 ? changedKeys[0] : default;
        foreach (var at in _unchangedAt)
        {
            var (key, stamp) = _waitingHead[at];
            while (changed < changedCount && _mergedHead.Count < length && next.CompareTo(key) < 0)
            {
                _mergedHead.Add((next, StateOf(next.Request).Stamp));
                changed++;
                next = changed < changedCount ? changedKeys[changed] : default;
            }

            if (_mergedHead.Count == length)
            {
                break;
            }

            _mergedHead.Add((key, stamp));
        }

        for (; changed < changedCount && _mergedHead.Count < length; changed++)
        {
            _mergedHead.Add((changedKeys[changed], StateOf(changedKeys[changed].Request).Stamp));
        }

        (_waitingHead, _mergedHead) = (_mergedHead, _waitingHead);
        _mergedHead.Clear();
    }

    // A kept head entry still waiting whose order key has not changed since it was ranked: not priced again (the stamp)
    // and not moved by this re-plan's slot verdict.
    private static bool KeptUnchanged(EngineRequest r, int stamp, long mark)
    {
        var s = StateOf(r);
        return r.State == RequestState.Waiting && s.Stamp == stamp && s.VerdictMovedMark != mark;
    }

    // Remembers each safe request's slot verdict (the part of its order key a re-plan sets without pricing it), and
    // marks with `mark` those whose verdict differs from the last re-plan's: only they, and the requests priced since,
    // can have moved in the order.
    private void RecordVerdicts(long mark)
    {
        _verdictMoved.Clear();
        foreach (var r in _safe)
        {
            var s = StateOf(r);
            if (s.Tier != s.VerdictTier || s.ShedForSlot != s.VerdictShed)
            {
                s.VerdictTier = s.Tier;
                s.VerdictShed = s.ShedForSlot;
                s.VerdictMovedMark = mark;
                _verdictMoved.Add(r);
            }
        }
    }

    // Ranks the waiting queue's first `length` requests as the head later steps merge from.
    private void RankWaitingHead(SchedulerView view, int length)
    {
        _waitingHead.Clear();
        foreach (var key in RankedTop(view.Waiting, length))
        {
            _waitingHead.Add((key, StateOf(key.Request).Stamp));
        }

        _waitingHeadWhole = view.Waiting.Count <= length;
    }

    // Lists a request whose order key changed since the last re-plan, once per re-plan.
    private void ListRepriced(EngineRequest r, State s)
    {
        if (s.RepricedAfterReplan != _replans)
        {
            s.RepricedAfterReplan = _replans;
            _repriced.Add(r);
        }
    }

    private void AddQueued(List<EngineRequest> requests)
    {
        foreach (var r in requests)
        {
            if (r.State is RequestState.Waiting or RequestState.Swapped)
            {
                _due.Add(r);
            }
        }
    }

    // The waiting head a normal step may need: a step admits at most a batch of sequences, and some of the head will
    // have been admitted or priced again since the re-plan.
    private static int WaitingHeadLength(EngineConfig engine) => (2 * engine.MaxBatch) + 2;

    // Re-plans on kept prices merge the head instead of ranking the queue, and each one shortens it by what was
    // admitted or priced again: ranking a longer head lets it last several re-plans.
    private const int KeptHeadFactor = 4;

    /// <inheritdoc />
    /// <remarks>
    /// Between re-plans only the requests priced since the last one can have a new order key (the overload flag that
    /// picks the key is set at re-plans too). The head kept then, less what left the queue or was priced again, is in
    /// order; every request outside it ranks below its last entry. So when enough of the head is left, merging it
    /// with the requests priced since gives the exact head of the queue; otherwise the queue is ranked.
    /// </remarks>
    protected override IReadOnlyList<EngineRequest> WaitingTop(SchedulerView view, int count)
    {
        if (LastPlanReplanned && !_keptPrices)
        {
            return base.WaitingTop(view, count);
        }

        // The kept entries are in order among themselves, so only the first `count` still valid can be in the head.
        _head.Reset(count, view.NowS);
        var kept = 0;
        foreach (var (key, stamp) in _waitingHead)
        {
            var r = key.Request;
            if (kept == count)
            {
                break;
            }

            if (r.State == RequestState.Waiting && StateOf(r).Stamp == stamp)
            {
                _head.Offer(r);
                kept++;
            }
        }

        if (kept < count && !_waitingHeadWhole)
        {
            return base.WaitingTop(view, count);
        }

        foreach (var r in _repriced)
        {
            if (r.State == RequestState.Waiting)
            {
                _head.Offer(r);
            }
        }

        if (VerifyKeptOrders)
        {
            var ranked = base.WaitingTop(view, count);
            if (!ranked.SequenceEqual(_head))
            {
                throw new InvalidOperationException($"kept waiting head [{string.Join(", ", _head.Select(r => r.Id))}] differs from the ranked queue [{string.Join(", ", ranked.Select(r => r.Id))}] at {view.NowS:0.###} s");
            }
        }

        return _head;
    }

    /// <inheritdoc />
    /// <remarks>
    /// A runner's order key moves only when it is priced or when the overload flag flips, which happens at re-plans
    /// only. Between re-plans only prefilling runners and new ones are priced, so the runners' order is the last one
    /// with the runners that left dropped and the ones priced since placed by their keys: the same order as ranking
    /// every runner (keys are unique), for a merge instead of a sort of the batch.
    /// </remarks>
    protected override IReadOnlyList<EngineRequest> RunnersInOrder(SchedulerView view)
    {
        var running = view.Running;
        _runnerOrderStamp++;
        _runnerFresh.Clear();
        if (LastPlanReplanned)
        {
            _runnerKeys.Clear();
        }

        // The kept entries, in order, whose keys cannot have moved; each is stamped so that the pass below skips it.
        var kept = 0;
        for (var i = 0; i < _runnerKeys.Count; i++)
        {
            var e = _runnerKeys[i];
            var s = StateOf(e.Request);
            if (e.Request.State == RequestState.Running && s.PricedIn != _evaluation)
            {
                s.RunnerOrderStamp = _runnerOrderStamp;
                if (kept != i)
                {
                    _runnerKeys[kept] = e;
                }

                kept++;
            }
        }

        _runnerKeys.RemoveRange(kept, _runnerKeys.Count - kept);
        for (var i = 0; i < running.Count; i++)
        {
            var s = StateOf(running[i]);
            if (s.RunnerOrderStamp != _runnerOrderStamp)
            {
                s.RunnerOrderStamp = _runnerOrderStamp;
                _runnerFresh.Add(KeyedRequest.Of(running[i], Order.KeyOf(running[i], view.NowS)));
            }
        }

        _runnerFresh.Sort();
        MergeRunnerKeys();
        _runners.Source = _runnerKeys;

        if (VerifyKeptOrders)
        {
            var ranked = base.RunnersInOrder(view);
            if (!ranked.SequenceEqual(_runners))
            {
                throw new InvalidOperationException($"kept runner order [{string.Join(", ", _runners.Select(r => r.Id))}] differs from the ranked batch [{string.Join(", ", ranked.Select(r => r.Id))}] at {view.NowS:0.###} s");
            }
        }

        return _runners;
    }

    // Merges the sorted fresh runner keys into the sorted kept ones.
    private void MergeRunnerKeys()
    {
        if (_runnerFresh.Count == 0)
        {
            return;
        }

        _runnerMerged.Clear();
        int i = 0, j = 0;
        while (i < _runnerKeys.Count || j < _runnerFresh.Count)
        {
            var takeKept = j == _runnerFresh.Count || (i < _runnerKeys.Count && _runnerKeys[i].CompareTo(_runnerFresh[j]) < 0);
            _runnerMerged.Add(takeKept ? _runnerKeys[i++] : _runnerFresh[j++]);
        }

        (_runnerKeys, _runnerMerged) = (_runnerMerged, _runnerKeys);
    }

    // Remaining work in time, deadline, value and tier (0 feasible, 2 SLO-dead) of one request.
    private void Price(EngineRequest r, double now, double bonus, EngineConfig engine)
    {
        var s = StateOf(r);
        var spec = r.Spec;
        var slo = spec.Slo;
        if (s.QuantilesAt != r.Generated)
        {
            // The posterior only moves with a token: a queued request reads its quantiles once, not every step.
            s.QuantilesAt = r.Generated;
            s.RankTotal = s.Posterior.QuantileAfter(r.Generated, _options.RankQuantile);
            s.FeasibilityTotal = s.Posterior.QuantileAfter(r.Generated, _options.FeasibilityQuantile);
        }

        var mid = Math.Max(0, s.RankTotal - r.Generated);
        var high = Math.Max(mid, s.FeasibilityTotal - r.Generated);
        r.LengthBound = r.Generated + Math.Max(1, high);
        var prefillTokens = r.IsPrefill ? r.PendingTokens : 0;
        var prefillSteps = _options.PrefillAware ? Math.Ceiling(prefillTokens / (double)engine.TokenBudget) : 0;
        var typical = _time.TimeFor(prefillSteps, mid, 0);
        var worst = _time.TimeFor(prefillSteps, high, _options.MarginSigmas);
        var firstToken = _time.TimeFor(prefillSteps, 1, _options.MarginSigmas);
        // Death is for good, so it is judged on the typical first-token time, like a call's on its typical length; the
        // margin only decides who is at risk (the slot selection sheds on it first, so in practice this rarely differs).
        var typicalFirstToken = _time.TimeFor(prefillSteps, 1, 0);

        double deadline;
        double due; // when the next thing this request owes is due: a stream's next token, else the deadline
        double latestStart;
        bool dead;
        switch (spec.Class)
        {
            case RequestClass.Latency:
                // Attainment needs the first token by T_f and every later gap within T_b: the next token is always due.
                deadline = r.ArrivalS + slo.TtftS + ((r.Generated + high) * slo.TbtS);
                due = r.Generated == 0 ? r.ArrivalS + slo.TtftS : r.TokenTimesS[^1] + slo.TbtS;
                latestStart = due - firstToken;
                dead = s.SloLost || (r.Generated == 0 ? now + typicalFirstToken > due : now > due);
                if (dead)
                {
                    s.SloLost = true;
                }

                break;
            case RequestClass.Collective:
                // A call is judged against what is left of the job's budget: later stages need about as long as this one.
                var later = Math.Max(0, spec.StageCount - 1 - spec.Stage);
                deadline = spec.ArrivalS + slo.DeadlineS - (later * typical);
                due = deadline;
                latestStart = deadline - worst;
                if (_options.LaterStagesAtMeanCall)
                {
                    // Only the order: a short first call of a job whose later stages are long must start early enough
                    // for them, or the job's end drifts to the end of the run. Feasibility and death stay on this call.
                    latestStart -= later * Math.Max(0, _time.TimeFor(0, _callTokens.Mean, 0) - typical);
                }

                dead = now + typical > deadline;
                break;
            default:
                deadline = r.ArrivalS + slo.DeadlineS;
                due = deadline;
                latestStart = deadline - worst;
                dead = now + typical > deadline;
                break;
        }

        // Demand on the whole machine: a decode step serves MaxBatch sequences, a prefill step one chunk.
        var demand = _time.TimeFor(prefillSteps, 0, 0) + (_time.TimeFor(0, mid, 0) / engine.MaxBatch);
        var value = _weights.Of(r.PromptTokens, r.Generated + mid) + bonus;
        if (dead && spec.Class == RequestClass.Latency && _options.LostStreamGain)
        {
            // The SLO is lost, but each later token still earns gain if it lands on the cumulative schedule
            // arrival + T_f + i·T_b, which a stream served every step catches up with: value what is still earnable.
            var earnable = EarnableTokens(r, now + firstToken, mid);
            value = _weights.Decode * earnable;
            dead = earnable <= 0;
            // Nothing is earnable on the median, but a longer answer than that still would be: such a stream goes before
            // dead work that can earn nothing at all (see DeadThatMayEarnFirst).
            s.MayEarn = dead && _options.DeadThatMayEarnFirst
                && EarnableTokens(r, now + firstToken, Math.Max(0, UpperTotal(r, s, _options.MayEarnQuantile) - r.Generated)) > 0;
        }

        s.ShedForSlot = false;
        s.DeadlineS = deadline;
        s.LatestStartS = latestStart;
        s.TypicalS = typical;
        // Dead work is packed longest first on an upper quantile of its own length (see DeadLengthQuantile).
        var own = dead ? _time.TimeFor(prefillSteps, DeadRemaining(r, s, mid), 0) : typical;
        s.ChainS = spec.Class == RequestClass.Collective
            ? own + (Math.Max(0, spec.StageCount - 1 - spec.Stage) * _time.TimeFor(0, _callTokens.Mean, 0))
            : own;
        s.FirstTokenS = firstToken;
        s.DueS = due;
        s.DemandS = Math.Max(demand, 1e-9);
        s.Density = value / s.DemandS;
        // Feasible on the upper quantile: tier 0. Feasible only on the median: tier 1, behind every safe request. A
        // latency stream on pace stays feasible however long it may run: its per-token deadline is what binds.
        var risky = spec.Class != RequestClass.Latency && now + worst > deadline;
        s.Tier = dead ? 2 : risky || s.SloLost ? 1 : 0;
        if (_options.LongJobsWaitInBacklog && _order.Overloaded && s.Tier == 0 && IsLongJobNotStarted(r))
        {
            // Under a backlog every later stage queues for a slot, so a long chain started now is the likeliest to
            // miss, and its calls would take the capacity the jobs already running need (docs/TEMPO.md).
            s.Tier = 1;
        }

        s.PricedTier = s.Tier;
        s.Stamp++;
        s.PricedIn = _evaluation;

        // When the clock alone would change the tier (the same comparisons, solved for `now`): safe turns at risk,
        // then dead. A lost stream's earnable value moves with every step, so only a re-plan prices it again.
        var deadAtS = spec.Class switch
        {
            RequestClass.Latency => r.Generated == 0 ? due - typicalFirstToken : due,
            _ => deadline - typical,
        };
        var riskAtS = spec.Class == RequestClass.Latency ? double.PositiveInfinity : deadline - worst;
        s.NextChangeS = s.SloLost || dead ? double.PositiveInfinity : s.Tier == 0 ? Math.Min(riskAtS, deadAtS) : deadAtS;
    }

    // The remaining length dead work is packed by: its DeadLengthQuantile.
    private double DeadRemaining(EngineRequest r, State s, double mid) =>
        _options.DeadLengthQuantile == _options.RankQuantile ? mid : Math.Max(mid, UpperTotal(r, s, _options.DeadLengthQuantile) - r.Generated);

    // The total length at an upper quantile of the posterior, read once per token like the rank and feasibility
    // quantiles: dead work's packing and the may-earn test both read it (the same 0.9 quantile by default).
    private static int UpperTotal(EngineRequest r, State s, double quantile)
    {
        if (s.UpperAt != r.Generated || s.UpperQuantile != quantile)
        {
            s.UpperAt = r.Generated;
            s.UpperQuantile = quantile;
            s.UpperTotal = s.Posterior.QuantileAfter(r.Generated, quantile);
        }

        return s.UpperTotal;
    }

    // Of the next `remaining` tokens of a latency stream whose next token lands at `nextTokenS`, how many land on
    // its cumulative schedule, if the stream then makes one token per decode step.
    private double EarnableTokens(EngineRequest r, double nextTokenS, double remaining)
    {
        var slo = r.Spec.Slo;
        var behind = nextTokenS - (r.ArrivalS + slo.TtftS + (r.Generated * slo.TbtS));
        if (behind <= 0)
        {
            return remaining;
        }

        var catchUpPerToken = slo.TbtS - _time.DecodeS;
        return catchUpPerToken <= 0 ? 0 : Math.Max(0, remaining - Math.Ceiling(behind / catchUpPerToken));
    }

    // Ends every request that has produced no token and can no longer meet its SLO, so its client can go elsewhere.
    // Shed requests sort last (tier 3), so the queue walks that stop at the first request that does not fit stop
    // only behind them.
    private void Shed(StepBudget budget, double now, EngineConfig engine)
    {
        for (var i = 0; i < _live.Count; i++)
        {
            var r = _live[i];
            var s = StateOf(r);
            if (r.Generated == 0 && Unattainable(r, s, now, engine))
            {
                _lastShedS = now;
                s.Tier = 3;

                // Its order key moved without a pricing: mark it moved, so that a waiting head read from the kept
                // one offers it under its new key instead of trusting its old place.
                s.Stamp++;
                ListRepriced(r, s);

                budget.Drop(r, SloShedding.Detail(r.Spec.Class == RequestClass.Latency
                    ? $"the first token cannot arrive within the {r.Spec.Slo.TtftS * 1000:0.#} ms TTFT"
                    : $"the answer cannot be finished within the {r.Spec.Slo.DeadlineS:0.###} s deadline"));
            }
        }
    }

    // A stream is unattainable once its first token cannot come in time. A call only once even its prefill and a
    // single token, started now, cannot finish by the hard deadline. Judged on a typical or even a low-quantile
    // length, shedding threw away calls that leftover capacity would still have finished in time (measured on
    // prefill-heavy at 12/s: throughput attainment 0.49 without shedding, 0.32 shedding on the 0.2 quantile), and a
    // collective call shed takes its whole job with it, so a call is judged against the job's own deadline.
    private bool Unattainable(EngineRequest r, State s, double now, EngineConfig engine)
    {
        if (r.Spec.Class == RequestClass.Latency)
        {
            return s.SloLost;
        }

        var prefillSteps = _options.PrefillAware ? Math.Ceiling(r.PendingTokens / (double)engine.TokenBudget) : 0;
        var deadline = (r.Spec.Class == RequestClass.Collective ? r.Spec.ArrivalS : r.ArrivalS) + r.Spec.Slo.DeadlineS;
        return now + _time.TimeFor(prefillSteps, 1, 0) > deadline;
    }

    // An urgent waiting request may take the slot of a runner outside the selected set at once.
    private bool DisplaceForUrgent(SchedulerView view, StepBudget budget)
    {
        if (view.Running.Count < view.Config.MaxBatch || view.Waiting.Count == 0)
        {
            return false;
        }

        var urgent = 0;
        var limit = _options.MaxPreemptionsPerStep;
        foreach (var w in view.Waiting)
        {
            if (urgent == limit)
            {
                break; // enough to use every displacement this step allows
            }

            if (StateOf(w).Tier == 0 || StateOf(w).ShedForSlot)
            {
                urgent++;
            }
        }

        limit = urgent;
        var displaced = 0;
        var running = Sorted(view.Running);
        for (var i = running.Count - 1; i >= 0 && displaced < limit; i--)
        {
            var victim = running[i];
            if (StateOf(victim).Tier == 0)
            {
                break; // sorted: everything above is selected too
            }

            budget.Preempt(victim, PreemptionMode.Recompute);
            displaced++;
        }

        return displaced > 0;
    }

    /// <summary>A queued request offered to the slot schedule, with its latest start read once.</summary>
    private readonly record struct Candidate(double LatestStartS, long Sequence, EngineRequest Request, State State) : IComparable<Candidate>
    {
        public int CompareTo(Candidate other)
        {
            var c = LatestStartS.CompareTo(other.LatestStartS);
            return c != 0 ? c : Sequence.CompareTo(other.Sequence);
        }
    }

    /// <summary>Per-request state: the length posterior and this step's pricing.</summary>
    private sealed class State(ILengthPosterior posterior)
    {
        public ILengthPosterior Posterior { get; } = posterior;

        public bool SloLost { get; set; }

        /// <summary>A lost stream with nothing earnable on its typical length, but something on its upper quantile.</summary>
        public bool MayEarn { get; set; }

        /// <summary>The generated count <see cref="RankTotal"/> and <see cref="FeasibilityTotal"/> were read at (-1: never).</summary>
        public int QuantilesAt { get; set; } = -1;

        /// <summary>Total length at the rank quantile, given the tokens generated so far.</summary>
        public int RankTotal { get; set; }

        /// <summary>Total length at the feasibility quantile, given the tokens generated so far.</summary>
        public int FeasibilityTotal { get; set; }

        /// <summary>The generated count <see cref="UpperTotal"/> was read at (-1: never).</summary>
        public int UpperAt { get; set; } = -1;

        /// <summary>The quantile <see cref="UpperTotal"/> was read at.</summary>
        public double UpperQuantile { get; set; }

        /// <summary>Total length at an upper quantile (dead work's packing, the may-earn test), given the tokens generated so far.</summary>
        public int UpperTotal { get; set; }

        public int Tier { get; set; }

        /// <summary>The tier the last pricing gave, before the slot schedule's verdict.</summary>
        public int PricedTier { get; set; }

        /// <summary>The re-plan on kept prices that last listed this request as safe.</summary>
        public long SafeMark { get; set; }

        /// <summary>The slot verdict (tier and shed flag) the last re-plan that listed this request as safe gave it.</summary>
        public int VerdictTier { get; set; } = -1;

        /// <summary>See <see cref="VerdictTier"/>.</summary>
        public bool VerdictShed { get; set; }

        /// <summary>The re-plan on kept prices whose slot verdict last moved this request (-1: a whole re-plan; 0: never).</summary>
        public long VerdictMovedMark { get; set; }

        /// <summary>The re-plan on kept prices whose head merge last offered this request as changed.</summary>
        public long OfferedMark { get; set; }

        /// <summary>Counts pricings, so a tier-change entry made before the latest one is recognised as stale.</summary>
        public int Stamp { get; set; }

        /// <summary>The last pass of <see cref="RunnersInOrder"/> that placed this request.</summary>
        public long RunnerOrderStamp { get; set; }

        /// <summary>The evaluation (counted from 1) this request was last priced in.</summary>
        public long PricedIn { get; set; }

        /// <summary>The re-plan (counted from 1) after which this request was last listed as priced again (0: never).</summary>
        public long RepricedAfterReplan { get; set; }

        /// <summary>When the clock alone changes this request's tier next (infinity: not before the next re-plan).</summary>
        public double NextChangeS { get; set; }

        public double DeadlineS { get; set; }

        public double LatestStartS { get; set; }

        // Typical time to the end of the request; for a job call, to its job's end (each later stage at the mean
        // typical output of the job calls seen so far). Orders dead work, longest first.
        public double ChainS { get; set; }

        public double DemandS { get; set; }

        /// <summary>Feasible on its own, but shed because no slot frees in time: displacing a runner would save it.</summary>
        public bool ShedForSlot { get; set; }

        public double TypicalS { get; set; }

        public double FirstTokenS { get; set; }

        public double DueS { get; set; }

        public double Density { get; set; }
    }

    // A mean kept as a sum and a count (the first sample is the mean).
    private struct RunningMean
    {
        private double _sum;
        private long _count;

        public readonly double Mean => _count > 0 ? _sum / _count : 0;

        public void Add(double x)
        {
            _sum += x;
            _count++;
        }
    }

    /// <summary>
    /// <c>tempo</c>'s order: by urgency (latest start first) while every live request is safely feasible; once the
    /// machine is overloaded, by value density in bands (<see cref="DensityBands"/>). Tiers put feasible work before work
    /// at risk and lost work last.
    /// </summary>
    private sealed class UrgencyThenValue(SelectEdfOptions options) : RequestOrder
    {
        // The primary key of dead work that may still earn: after every live tier, before the rest of the dead.
        private const double MayEarnTier = 1.5;

        private readonly DensityBands _bands = new(options.StreamBand);

        /// <summary>Whether the last re-plan found the machine overloaded (set by the scheduler).</summary>
        public bool Overloaded { get; set; }

        public override OrderKey KeyOf(EngineRequest r, double nowS)
        {
            var s = StateOf(r);
            // Urgency order only while every live request is safely feasible; once any is at risk or lost the machine
            // is overloaded, and value density decides (measured: +22-25% SLO goodput at 2-3x load on the mix).
            // Without a backlog, a request the slot schedule shed keeps its urgency place: the schedule prices each
            // runner at its typical remaining time, and runners free their slots sooner often enough that a stream put
            // behind every safe call for it missed a first token EDF would have given it (TTFT p95 41 s against 0.7 s
            // on the mix at 4/s). Its shed verdict still counts toward the backlog.
            var tier = s.ShedForSlot && !Overloaded && options.SlotShedKeepsPlace ? 0 : s.Tier;
            var byDensity = Overloaded || !options.UrgencyOrder;
            var (primary, secondary) = tier == 0 && byDensity
                ? (tier, _bands.Key(s.Density, s.LatestStartS, r.Spec.Class == RequestClass.Latency))
                : SlotSchedule.OrderKey(tier, s.LatestStartS, s.Density, byDensity);

            if (tier == 2)
            {
                primary = s.MayEarn ? MayEarnTier : primary;
                secondary = options.DeadByLongest ? -s.ChainS : secondary;
            }

            return new(primary, secondary);
        }
    }
}
