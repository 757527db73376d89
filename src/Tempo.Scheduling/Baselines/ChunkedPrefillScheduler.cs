using Tempo.Engine;
using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Baselines;

/// <summary>
/// Sarathi-Serve / vLLM chunked-prefill step (decode-first): running decodes, then running prefill chunks,
/// then swap-ins, then new prefills chunked to fill the token budget. Every queue is visited in the policy's
/// order (<see cref="Order"/>: FCFS for Sarathi, a key such as a deadline or a priority for the others). When the KV cache
/// cannot grow a running request, the lowest-ordered running request ranked below it is preempted, as in vLLM;
/// if there is none, the request itself is.
/// </summary>
internal class ChunkedPrefillScheduler : IScheduler
{
    private readonly PreemptionMode _preemption;

    // Reused across steps so that planning allocates nothing: what Sorted and SortedTop return is only read within
    // the step that asked for it.
    private readonly Ranking _sorted;
    private readonly Ranking _top;
    private readonly Ranking _prefills;
    private readonly List<EngineRequest> _runningOrder = [];

    /// <summary>Creates the scheduler.</summary>
    /// <param name="name">Registry name.</param>
    /// <param name="order">The policy's queue order.</param>
    /// <param name="preemption">How KV preemption evicts (vLLM V0 default: recompute).</param>
    public ChunkedPrefillScheduler(string name, RequestOrder order, PreemptionMode preemption = PreemptionMode.Recompute)
    {
        Name = name;
        Order = order;
        _preemption = preemption;
        _sorted = new Ranking(order);
        _top = new Ranking(order);
        _prefills = new Ranking(order);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The policy's queue order.</summary>
    protected RequestOrder Order { get; }

    /// <summary>Time of the step being planned (set before <see cref="PlanStep"/> runs), for time-dependent keys.</summary>
    protected double NowS { get; private set; }

    /// <summary>
    /// Prefill tokens the step being planned may still take, across all chunks. Unlimited at the start of every plan; a
    /// policy that bounds how long a step may run sets it in <see cref="PlanStep"/> before scheduling.
    /// </summary>
    protected int PrefillTokensLeft { get; set; } = int.MaxValue;

    /// <inheritdoc />
    public StepPlan Plan(SchedulerView view)
    {
        NowS = view.NowS;
        PrefillTokensLeft = int.MaxValue;
        return PlanStep(view);
    }

    /// <inheritdoc />
    public virtual void OnArrival(EngineRequest request)
    {
    }

    /// <inheritdoc />
    public virtual void OnStepExecuted(SchedulerView view, double durationS)
    {
    }

    /// <inheritdoc />
    public virtual void OnFinished(EngineRequest request)
    {
    }

    /// <summary>Builds the step: the chunked-prefill path of vLLM V0 (running, then swapped unless anything was preempted, then waiting).</summary>
    protected virtual StepPlan PlanStep(SchedulerView view)
    {
        var budget = view.NewBudget();
        var preempted = ScheduleRunning(view, budget);
        if (!preempted)
        {
            ScheduleSwapped(view, budget);
        }

        ScheduleWaiting(view, budget);
        return budget.Build();
    }

    /// <summary>Negative when <paramref name="a"/> is served before <paramref name="b"/> in the policy's order now.</summary>
    protected int Compare(EngineRequest a, EngineRequest b) => Order.Compare(a, b, NowS);

    /// <summary>Decodes first, then in-progress prefills; returns true if anything was preempted.</summary>
    protected bool ScheduleRunning(SchedulerView view, StepBudget budget) => ScheduleRunners(Sorted(view.Running), budget, decodesOnly: false);

    /// <summary>
    /// The step with prefill tokens by urgency: decodes, swap-ins unless anything was preempted, then in-progress
    /// prefills and new requests together in policy order (<see cref="SchedulePrefillsInOrder"/>). Returns true if
    /// anything was preempted, here or before (<paramref name="preempted"/>, which also skips the swap-ins).
    /// </summary>
    protected bool ScheduleWithPrefillsInOrder(SchedulerView view, StepBudget budget, bool preempted)
    {
        // A copy, ranked once for both passes: ranking the queues in between reuses the buffer Sorted returns.
        var running = _runningOrder;
        running.Clear();
        var sorted = RunnersInOrder(view);
        for (var i = 0; i < sorted.Count; i++)
        {
            running.Add(sorted[i]);
        }

        preempted |= ScheduleRunners(running, budget, decodesOnly: true);
        if (!preempted)
        {
            ScheduleSwapped(view, budget);
        }

        SchedulePrefillsInOrder(view, budget, running);
        running.Clear();
        return preempted;
    }

    private bool ScheduleRunners(IReadOnlyList<EngineRequest> running, StepBudget budget, bool decodesOnly)
    {
        var preempted = false;
        for (var phase = 0; phase < (decodesOnly ? 1 : 2); phase++)
        {
            var phasePrefill = phase == 1;
            for (var i = 0; i < running.Count; i++)
            {
                var r = running[i];
                if (r.IsPrefill != phasePrefill || budget.Contains(r))
                {
                    continue;
                }

                var n = TokensFor(r, budget);
                if (n == 0 || budget.SequencesLeft == 0)
                {
                    continue;
                }

                // Free KV from the lowest-ordered runners ranked below this one until it can grow, or give up on it.
                preempted |= RunnerEviction.MakeRoom(running, i, n, budget, _preemption);
                Schedule(r, n, budget);
            }
        }

        return preempted;
    }

    /// <summary>Swaps requests back in, in queue order, while they fit.</summary>
    protected void ScheduleSwapped(SchedulerView view, StepBudget budget)
    {
        // With no sequence or token left the first candidate cannot fit and the loop stops at once, so ranking a
        // long queue (the common case of a full batch) is skipped; keys are pure, so nothing else changes.
        if (budget.SequencesLeft == 0 || budget.TokensLeft == 0)
        {
            return;
        }

        var queue = SortedTop(view.Swapped, budget.SequencesLeft + 1);
        for (var i = 0; i < queue.Count; i++)
        {
            var r = queue[i];
            var n = TokensFor(r, budget);
            if (n == 0 || !Schedule(r, n, budget))
            {
                break;
            }
        }
    }

    /// <summary>Admits new prefills in queue order, chunked to the budget; stops at the first that does not fit (vLLM's head-of-line rule).</summary>
    protected void ScheduleWaiting(SchedulerView view, StepBudget budget)
    {
        // With no sequence or token left the first candidate cannot fit and the loop stops at once, so ranking a
        // long queue (the common case of a full batch) is skipped; keys are pure, so nothing else changes.
        if (budget.SequencesLeft == 0 || budget.TokensLeft == 0)
        {
            return;
        }

        var queue = WaitingTop(view, budget.SequencesLeft + 1);
        for (var i = 0; i < queue.Count; i++)
        {
            var r = queue[i];
            var n = TokensFor(r, budget);
            if (n == 0 || !Schedule(r, n, budget))
            {
                break;
            }
        }
    }

    /// <summary>
    /// In-progress prefills and new requests together, in policy order, share the step's prefill tokens: a new request
    /// ranked above an in-progress prefill goes first when its whole prompt fits in this step, so an urgent stream is not
    /// held behind the long prompt of a relaxed call that started first (vLLM serves running prefills first). A new
    /// request that would only get a chunk waits for the in-progress ones, as in vLLM: starting more partial prefills
    /// than the step can finish only holds KV and slots (measured: prefill-heavy traffic at 2-4x overload lost a quarter
    /// of its SLO goodput when every new request could start ahead). The rest of the new requests follow as in
    /// <see cref="ScheduleWaiting"/>. A running prefill that needs KV frees it from <paramref name="running"/> (the
    /// runners in policy order) ranked below it. Returns true if anything was preempted.
    /// </summary>
    private bool SchedulePrefillsInOrder(SchedulerView view, StepBudget budget, List<EngineRequest> running)
    {
        var candidates = _prefills;
        candidates.Reset(int.MaxValue, NowS);
        for (var i = 0; i < running.Count; i++)
        {
            if (running[i].IsPrefill && !budget.Contains(running[i]))
            {
                candidates.Offer(running[i]);
            }
        }

        if (budget.SequencesLeft > 0 && budget.TokensLeft > 0)
        {
            var waiting = WaitingTop(view, budget.SequencesLeft + 1);
            for (var i = 0; i < waiting.Count; i++)
            {
                candidates.Offer(waiting[i]);
            }
        }

        var preempted = false;
        var jumping = true;
        for (var i = 0; i < candidates.Count; i++)
        {
            var r = candidates[i];
            var n = TokensFor(r, budget);
            if (r.State == RequestState.Running)
            {
                if (n == 0 || budget.SequencesLeft == 0)
                {
                    continue;
                }

                preempted |= RunnerEviction.MakeRoom(running, IndexOf(running, r), n, budget, _preemption);
                Schedule(r, n, budget);
            }
            else if (jumping && (n < r.PendingTokens || !Schedule(r, n, budget)))
            {
                // From the first new request that cannot finish its prompt here, the new ones wait their turn below.
                jumping = false;
            }
        }

        // The new requests that did not go ahead, in order, on what the in-progress prefills left.
        for (var i = 0; i < candidates.Count; i++)
        {
            var r = candidates[i];
            if (r.State != RequestState.Waiting || budget.Contains(r))
            {
                continue;
            }

            var n = TokensFor(r, budget);
            if (n == 0 || !Schedule(r, n, budget))
            {
                break;
            }
        }

        candidates.Reset(0, NowS);
        return preempted;

        static int IndexOf(IReadOnlyList<EngineRequest> list, EngineRequest r)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (ReferenceEquals(list[i], r))
                {
                    return i;
                }
            }

            throw new InvalidOperationException($"{r} is not running");
        }
    }

    /// <summary>The tokens <paramref name="r"/> can take this step: what the budget allows, a prefill also within <see cref="PrefillTokensLeft"/>.</summary>
    protected int TokensFor(EngineRequest r, StepBudget budget)
    {
        var n = budget.MaxTokensFor(r);
        return r.IsPrefill ? Math.Min(n, PrefillTokensLeft) : n;
    }

    /// <summary>Schedules <paramref name="tokens"/> of <paramref name="r"/> and counts a prefill's against <see cref="PrefillTokensLeft"/>.</summary>
    protected bool Schedule(EngineRequest r, int tokens, StepBudget budget)
    {
        var prefill = r.IsPrefill;
        if (!budget.TrySchedule(r, tokens))
        {
            return false;
        }

        if (prefill && PrefillTokensLeft != int.MaxValue)
        {
            PrefillTokensLeft -= tokens;
        }

        return true;
    }

    /// <summary>
    /// The running requests in policy order, read within this step only. A policy that can tell this order from what it
    /// kept since an earlier step overrides it, with the same result.
    /// </summary>
    protected virtual IReadOnlyList<EngineRequest> RunnersInOrder(SchedulerView view) => Sorted(view.Running);

    /// <summary>
    /// The first <paramref name="count"/> waiting requests in policy order, read within this step only. A policy that
    /// can tell this order from what it kept since an earlier step overrides it, with the same result.
    /// </summary>
    protected virtual IReadOnlyList<EngineRequest> WaitingTop(SchedulerView view, int count) => SortedTop(view.Waiting, count);

    /// <summary>The queue in policy order (the queue itself when the engine keeps it in that order).</summary>
    protected IReadOnlyList<EngineRequest> Sorted(IReadOnlyList<EngineRequest> queue) =>
        Order.IsEngineQueueOrder ? queue : _sorted.Top(queue, queue.Count, NowS);

    /// <summary>
    /// The first <paramref name="count"/> requests of the queue in policy order. Admission stops at the first request
    /// that does not fit and never takes more than the sequences left, so it only ever needs this prefix.
    /// </summary>
    protected IReadOnlyList<EngineRequest> SortedTop(IReadOnlyList<EngineRequest> queue, int count) =>
        Order.IsEngineQueueOrder || count >= queue.Count ? Sorted(queue) : _top.Top(queue, count, NowS);

    /// <summary>
    /// The first <paramref name="count"/> requests of the queue ranked in policy order with their keys, for a policy
    /// that keeps the keys (the queue is ranked even when the engine keeps it in that order). Read within this step only.
    /// </summary>
    protected ReadOnlySpan<KeyedRequest> RankedTop(IReadOnlyList<EngineRequest> queue, int count) =>
        (count >= queue.Count ? _sorted.Top(queue, queue.Count, NowS) : _top.Top(queue, count, NowS)).Keys;
}
