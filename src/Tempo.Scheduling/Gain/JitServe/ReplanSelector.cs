using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Collective;
using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>What the last re-plan decided, for tests and diagnostics.</summary>
internal sealed class ReplanReport
{
    /// <summary>Requests in the chosen group after the top-up.</summary>
    public List<long> Group { get; } = [];

    /// <summary>Collective peers added to the group by the top-up.</summary>
    public int ToppedUp { get; set; }

    /// <summary>Pending out-of-group runners counted (x of Step D).</summary>
    public int OutOfGroup { get; set; }

    /// <summary>Waiting or swapped requests chosen for activation.</summary>
    public List<long> Activations { get; } = [];

    /// <summary>Running requests swapped out.</summary>
    public List<long> Evictions { get; } = [];

    /// <summary>Sequence cap for the following normal steps (Step F).</summary>
    public int NextMaxSequences { get; set; }

    internal void Clear()
    {
        Group.Clear();
        Activations.Clear();
        Evictions.Clear();
        ToppedUp = 0;
        OutOfGroup = 0;
    }
}

/// <summary>
/// The periodic re-plan (§3.5, sliding-window search, steps A–H): pick the k·B densest requests, group the B of
/// them with similar lengths and the largest total density, top up collective jobs that need more bandwidth,
/// activate at most S pending requests (and so evict at most S runners), shrink the batch when iterations are
/// slower than the tightest running TBT, and fit the result into the cache.
/// </summary>
internal sealed class ReplanSelector
{
    // Tokens a prefill is reserved in the fit before the remaining budget is handed out (Q11).
    private const int PrefillReserve = 2;

    private readonly TempoOptions _options;
    private readonly PriorityBook _book;
    private readonly UnitTimeEstimator _unitTime;
    private readonly Ranking _top;
    private readonly Ranking _inject;
    private readonly Ranking _sort;
    private readonly List<EngineRequest> _pool = [];
    private readonly List<EngineRequest> _group = [];
    private readonly List<EngineRequest> _pending = [];
    private readonly List<EngineRequest> _activate = [];
    private readonly List<EngineRequest> _kept = [];
    private readonly List<EngineRequest> _accepted = [];
    private readonly List<EngineRequest> _evict = [];
    private readonly List<CollectionTracker> _jobs = [];
    private readonly Comparison<EngineRequest> _byLength;
    private readonly Comparison<EngineRequest> _groupFirst;
    private double[] _densities = new double[64];
    private long _replanId;

    /// <summary>Creates the selector.</summary>
    public ReplanSelector(TempoOptions options, PriorityBook book, UnitTimeEstimator unitTime)
    {
        _options = options;
        _book = book;
        _unitTime = unitTime;
        _top = new Ranking(book.Order);
        _inject = new Ranking(book.Order);
        _sort = new Ranking(book.Order);
        _byLength = (a, b) =>
        {
            var c = a.ContextTokens.CompareTo(b.ContextTokens);
            return c != 0 ? c : _book.Compare(a, b);
        };
        _groupFirst = (a, b) =>
        {
            var c = InGroup(b).CompareTo(InGroup(a));
            return c != 0 ? c : _book.Compare(a, b);
        };
    }

    /// <summary>What the last re-plan decided.</summary>
    public ReplanReport Last { get; } = new();

    /// <summary>
    /// Tokens a collective job must receive before the next re-plan to finish on time (§3.5 A′): its remaining
    /// tokens at the rate that meets the tightest peer deadline, over the plan period; 0 once the deadline passed.
    /// </summary>
    public static double TopUpDemand(long remainingTokens, double timeToDeadlineS, double planS) =>
        timeToDeadlineS <= 0 ? 0 : remainingTokens / timeToDeadlineS * planS;

    /// <summary>Plans a re-plan step. <paramref name="currentMaxSequences"/> is the cap the normal steps used so far.</summary>
    public StepPlan Plan(SchedulerView view, int currentMaxSequences)
    {
        _replanId++;
        Last.Clear();
        var batch = view.Config.MaxBatch;
        SelectGroup(view, batch);
        if (_options.CollectiveTopUp)
        {
            Last.ToppedUp = TopUp(batch);
        }

        var (lower, upper) = LengthBounds();
        ChooseActivations(view, lower, upper);
        Last.NextMaxSequences = NextMaxSequences(batch);
        var budget = view.NewBudget(Math.Min(batch, Math.Max(view.Running.Count, currentMaxSequences)));
        Fit(view, budget.SequencesLeft);
        Materialise(view, budget);
        foreach (var r in _group)
        {
            Last.Group.Add(r.Id);
        }

        ClearScratch();
        return budget.Build();
    }

    // Step A: the k·B densest live requests, ordered by length; the B consecutive ones with the largest Σ density.
    private void SelectGroup(SchedulerView view, int batch)
    {
        _top.Reset(_options.CandidateFactor * batch, _book.NowS);
        Offer(view.Running);
        Offer(view.Waiting);
        Offer(view.Swapped);
        _pool.Clear();
        for (var i = 0; i < _top.Count; i++)
        {
            _pool.Add(_top[i]);
        }

        _pool.Sort(_byLength);
        var start = 0;
        var width = Math.Min(batch, _pool.Count);
        if (_pool.Count > batch)
        {
            if (_densities.Length < _pool.Count)
            {
                _densities = new double[_pool.Count * 2];
            }

            for (var i = 0; i < _pool.Count; i++)
            {
                _densities[i] = _book.KeyOf(_pool[i]).Density;
            }

            start = SlidingWindow.BestStart(_densities.AsSpan(0, _pool.Count), batch);
        }

        _group.Clear();
        for (var i = start; i < start + width; i++)
        {
            _group.Add(_pool[i]);
            PriorityBook.State(_pool[i]).GroupMark = _replanId;
        }
    }

    // Step A′ (Q9: dead code in the artifact, implemented as intended): a job in the group gets more of its peers
    // into the group until the token supply over the plan period covers the rate its tightest deadline needs.
    private int TopUp(int batch)
    {
        var added = 0;
        _jobs.Clear();
        foreach (var r in _group)
        {
            if (PriorityBook.State(r).Job is { } job && job.ReplanMark != _replanId)
            {
                job.ReplanMark = _replanId;
                _jobs.Add(job);
            }
        }

        var interval = _options.ReplanInterval;
        var planS = interval * _unitTime.CurrentS;
        foreach (var job in _jobs)
        {
            long need = 0;
            var timeToDeadline = double.PositiveInfinity;
            var inGroup = 0;
            foreach (var peer in job.Live)
            {
                need += peer.RemainingByBound;
                var s = PriorityBook.State(peer);
                timeToDeadline = Math.Min(timeToDeadline, peer.ArrivalS + PriorityBook.DeadlineOf(peer, s) - _book.NowS);
                inGroup += s.GroupMark == _replanId ? 1 : 0;
            }

            var demand = TopUpDemand(need, timeToDeadline, planS);
            var supply = (double)inGroup * interval;
            while (supply < demand && NextPeerOutside(job) is { } peer)
            {
                // Deviation: the spec's loop stops at |W| = B, which under load (W always full) never adds a peer;
                // as intended ("just enough bandwidth"), the job's peer displaces the least dense non-collective member.
                if (_group.Count >= batch && !DisplaceLeastDenseSingle())
                {
                    break;
                }

                _group.Add(peer);
                PriorityBook.State(peer).GroupMark = _replanId;
                supply += interval;
                added++;
            }
        }

        return added;
    }

    private EngineRequest? NextPeerOutside(CollectionTracker job)
    {
        foreach (var peer in job.Live)
        {
            if (PriorityBook.State(peer).GroupMark != _replanId && peer.State != RequestState.Finished)
            {
                return peer;
            }
        }

        return null;
    }

    private bool DisplaceLeastDenseSingle()
    {
        var worst = -1;
        for (var i = 0; i < _group.Count; i++)
        {
            if (PriorityBook.State(_group[i]).Job is null && (worst < 0 || _book.Compare(_group[i], _group[worst]) > 0))
            {
                worst = i;
            }
        }

        if (worst < 0)
        {
            return false;
        }

        PriorityBook.State(_group[worst]).GroupMark = 0;
        _group.RemoveAt(worst);
        return true;
    }

    // Step B: the group's length range (current KV length = prompt + generated).
    private (int Lower, int Upper) LengthBounds()
    {
        var lower = int.MaxValue;
        var upper = int.MinValue;
        foreach (var r in _group)
        {
            lower = Math.Min(lower, r.ContextTokens);
            upper = Math.Max(upper, r.ContextTokens);
        }

        return (lower, upper);
    }

    // Steps C–E: count the runners shorter than the group (x ≤ S), then pick x activations: the group's pending
    // members by density, then (Q12) pending requests inside the group's [min, max] length range by density.
    private void ChooseActivations(SchedulerView view, int lower, int upper)
    {
        _pending.Clear();
        foreach (var r in view.Running)
        {
            if (!InGroup(r) && r.ContextTokens < lower)
            {
                _pending.Add(r);
            }
        }

        var x = Math.Min(_options.MaxSwapsPerReplan, _pending.Count);
        Last.OutOfGroup = x;
        _evict.Clear();
        if (_options.EvictOutOfGroup && x > 0)
        {
            // Q10 option: swap out the x least dense of them, as the length-bin mode does.
            _sort.Sort(_pending, _book.NowS);
            for (var i = _pending.Count - x; i < _pending.Count; i++)
            {
                _evict.Add(_pending[i]);
            }
        }

        _activate.Clear();
        if (x > 0)
        {
            _pool.Clear();
            foreach (var r in _group)
            {
                if (r.State != RequestState.Running)
                {
                    _pool.Add(r);
                }
            }

            _sort.Sort(_pool, _book.NowS);
            for (var i = 0; i < _pool.Count && _activate.Count < x; i++)
            {
                _activate.Add(_pool[i]);
            }

            if (_activate.Count < x)
            {
                _inject.Reset(x - _activate.Count, _book.NowS);
                OfferInBounds(view.Waiting, lower, upper);
                OfferInBounds(view.Swapped, lower, upper);
                for (var i = 0; i < _inject.Count; i++)
                {
                    _activate.Add(_inject[i]);
                }
            }
        }

        _kept.Clear();
        foreach (var r in view.Running)
        {
            if (!_evict.Contains(r))
            {
                _kept.Add(r);
            }
        }

        // Q12: runners are fitted group first, then by density, so any eviction hits the least dense outsider,
        // not whoever is at the queue tail.
        _kept.Sort(_groupFirst);
    }

    // Step F (Q19 form): recomputed at every re-plan rather than mutated cumulatively; applied from the next step.
    private int NextMaxSequences(int batch)
    {
        var tightestTbt = double.PositiveInfinity;
        foreach (var r in _kept)
        {
            if (r.Spec.Class == RequestClass.Latency && r.Spec.Slo.TbtS > 0)
            {
                tightestTbt = Math.Min(tightestTbt, r.Spec.Slo.TbtS);
            }
        }

        // Deviation: with no TBT-bound runner there is nothing to protect, so no shrink (the artifact's 1 ms default
        // would shrink the batch whenever nothing runs).
        var next = Math.Max(batch, _activate.Count + _kept.Count);
        if (_unitTime.CurrentS > tightestTbt)
        {
            next -= _options.MaxSwapsPerReplan;
        }

        return Math.Clamp(next, 1, batch);
    }

    // Step G: greedy fit in process order (activations, then kept runners) against the whole cache minus the
    // watermark; after the first misfit everything is rejected and rejected runners are swapped out.
    private void Fit(SchedulerView view, int sequences)
    {
        var kv = view.Kv;
        var tokens = view.Config.TokenBudget;
        var blocksLeft = kv.TotalGpuBlocks - kv.WatermarkBlocks;
        var stop = false;
        _accepted.Clear();
        for (var i = 0; i < _activate.Count + _kept.Count; i++)
        {
            var r = i < _activate.Count ? _activate[i] : _kept[i - _activate.Count];
            var n = Reserve(r);
            var blocks = Footprint(r, n, kv);
            // With just-in-time bandwidth the running set may exceed the batch on purpose (paced requests run only
            // now and then), so a runner is never evicted for want of a sequence slot, only for KV.
            var slot = sequences >= 1 || (_options.JustInTime && r.State == RequestState.Running);
            if (!stop && n <= tokens && slot && blocks <= blocksLeft)
            {
                _accepted.Add(r);
                tokens -= n;
                sequences--;
                blocksLeft -= blocks;
            }
            else
            {
                stop = true;
                if (r.State == RequestState.Running)
                {
                    _evict.Add(r);
                }
            }
        }
    }

    // Materialise through the step budget: evictions first (they free KV), then the accepted requests in priority
    // order, each prefill topped up with what the later ones do not need (Q11: all accepted prefills, not only new
    // ones, get the remaining budget), then any capacity still free goes to ordinary admission.
    private void Materialise(SchedulerView view, StepBudget budget)
    {
        foreach (var r in _evict)
        {
            budget.Preempt(r, PreemptionMode.Swap);
            Last.Evictions.Add(r.Id);
        }

        foreach (var r in _activate)
        {
            Last.Activations.Add(r.Id);
        }

        _sort.Sort(_accepted, _book.NowS);
        if (_options.JustInTime)
        {
            // Requests that cannot skip this iteration first; the paced ones take what is left.
            var now = _book.NowS;
            var u = _unitTime.CurrentS;
            _pool.Clear();
            _pool.AddRange(_accepted);
            _accepted.Clear();
            foreach (var r in _pool)
            {
                if (!JustInTime.Deferrable(r, now, u))
                {
                    _accepted.Add(r);
                }
            }

            foreach (var r in _pool)
            {
                if (JustInTime.Deferrable(r, now, u))
                {
                    _accepted.Add(r);
                }
            }
        }

        var reserved = 0;
        foreach (var r in _accepted)
        {
            reserved += Reserve(r);
        }

        foreach (var r in _accepted)
        {
            var own = Reserve(r);
            reserved -= own;
            var n = r.IsPrefill ? Math.Min(r.PendingTokens, Math.Max(own, budget.TokensLeft - reserved)) : 1;
            if (!budget.TrySchedule(r, n) && n > own)
            {
                budget.TrySchedule(r, own);
            }
        }

        // Deviation: the artifact schedules only the process list in a re-plan step, so a re-plan with free slots
        // (for example an empty batch) ran nothing; leftover capacity goes to the normal admission path instead.
        PriorityAdmission.Admit(view, budget, _top, _book.NowS, includeSwapped: _evict.Count == 0);
    }

    private static int Reserve(EngineRequest r) => r.IsPrefill ? Math.Min(r.PendingTokens, PrefillReserve) : 1;

    // A request's whole footprint once it runs n more tokens: the selected set "owns" the cache.
    private static int Footprint(EngineRequest r, int n, KvBlockManager kv) => r.State switch
    {
        RequestState.Running => Math.Max(r.GpuBlocks, kv.BlocksFor(r.ComputedTokens + n)),
        RequestState.Swapped => Math.Max(r.CpuBlocks, kv.BlocksFor(r.ComputedTokens + n)),
        _ => kv.BlocksFor(Math.Max(r.ContextTokens, n)),
    };

    private bool InGroup(EngineRequest r) => PriorityBook.State(r).GroupMark == _replanId;

    private void Offer(IReadOnlyList<EngineRequest> queue)
    {
        for (var i = 0; i < queue.Count; i++)
        {
            _top.Offer(queue[i]);
        }
    }

    private void OfferInBounds(IReadOnlyList<EngineRequest> queue, int lower, int upper)
    {
        for (var i = 0; i < queue.Count; i++)
        {
            var r = queue[i];
            if (!InGroup(r) && r.ContextTokens >= lower && r.ContextTokens <= upper)
            {
                _inject.Offer(r);
            }
        }
    }

    private void ClearScratch()
    {
        _group.Clear();
        _pool.Clear();
        _pending.Clear();
        _activate.Clear();
        _kept.Clear();
        _accepted.Clear();
        _evict.Clear();
        _jobs.Clear();
    }
}
