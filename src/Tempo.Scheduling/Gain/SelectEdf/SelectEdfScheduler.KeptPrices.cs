using Tempo.Engine;
using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Gain.SelectEdf;

// Re-plans on kept prices: between full re-plans only what moved is priced again, and the waiting head and the
// runners' order are merged from the kept ones instead of ranking every queue (docs/TEMPO.md, "Re-plans on kept prices").
internal sealed partial class SelectEdfScheduler
{
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
            var s = PricedRequest.Of(r);
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
            var s = PricedRequest.Of(_live[i]);
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
            if (PricedRequest.Of(entry.Request).Stamp == entry.Stamp && entry.Request.State is RequestState.Waiting or RequestState.Swapped)
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
            var s = PricedRequest.Of(r);
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

    // The new waiting head: the kept entries whose keys did not change (listed in _unchangedAt), in order, merged
    // with the changed ones (priced again since, or moved by the slot verdict) ranked among themselves, up to `length`
    // entries.
    private void MergeWaitingHead(double now, long mark, int length)
    {
        _head.Reset(int.MaxValue, now);
        foreach (var r in _repriced)
        {
            var s = PricedRequest.Of(r);
            if (r.State == RequestState.Waiting && s.OfferedMark != mark)
            {
                s.OfferedMark = mark;
                _head.Offer(r);
            }
        }

        // A safe request not priced since keeps its key unless this re-plan's slot verdict moved it.
        foreach (var r in _verdictMoved)
        {
            var s = PricedRequest.Of(r);
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
                _mergedHead.Add((next, PricedRequest.Of(next.Request).Stamp));
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
            _mergedHead.Add((changedKeys[changed], PricedRequest.Of(changedKeys[changed].Request).Stamp));
        }

        (_waitingHead, _mergedHead) = (_mergedHead, _waitingHead);
        _mergedHead.Clear();
    }

    // A kept head entry still waiting whose order key has not changed since it was ranked: not priced again (the stamp)
    // and not moved by this re-plan's slot verdict.
    private static bool KeptUnchanged(EngineRequest r, int stamp, long mark)
    {
        var s = PricedRequest.Of(r);
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
            var s = PricedRequest.Of(r);
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
            _waitingHead.Add((key, PricedRequest.Of(key.Request).Stamp));
        }

        _waitingHeadWhole = view.Waiting.Count <= length;
    }

    // Lists a request whose order key changed since the last re-plan, once per re-plan.
    private void ListRepriced(EngineRequest r, PricedRequest s)
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

            if (r.State == RequestState.Waiting && PricedRequest.Of(r).Stamp == stamp)
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
            var s = PricedRequest.Of(e.Request);
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
            var s = PricedRequest.Of(running[i]);
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
}
