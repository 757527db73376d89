using Tempo.Engine;

namespace Tempo.Scheduling.Baselines;

/// <summary>
/// Sarathi-Serve / vLLM chunked-prefill step (decode-first): running decodes, then running prefill chunks,
/// then swap-ins, then new prefills chunked to fill the token budget. Every queue is visited in the policy's
/// order (<see cref="Compare"/>: FCFS for Sarathi, a priority key for the other baselines). When the KV cache
/// cannot grow a running request, the lowest-ordered running request ranked below it is preempted, as in vLLM;
/// if there is none, the request itself is.
/// </summary>
internal class ChunkedPrefillScheduler : IScheduler
{
    private readonly IComparer<EngineRequest> _order;
    private readonly PreemptionMode _preemption;
    private readonly bool _queueOrder;
    private readonly StaticKey _staticKey;
    private readonly Comparison<EngineRequest> _compare;

    // Reused across steps so that planning allocates nothing: results of Sorted / SortedTop are only read
    // within the step that asked for them.
    private readonly List<EngineRequest> _sorted = [];
    private readonly List<EngineRequest> _top = [];
    private KeyedRequest[] _keys = new KeyedRequest[64];
    private readonly List<KeyedRequest> _prefills = [];
    private readonly List<EngineRequest> _runningOrder = [];

    /// <summary>Creates the scheduler with a fixed queue order.</summary>
    /// <param name="name">Registry name.</param>
    /// <param name="order">Queue order; null means FCFS (subclasses with a dynamic key override <see cref="SortKey"/> and <see cref="UsesSortKey"/>).</param>
    /// <param name="preemption">How KV preemption evicts (vLLM V0 default: recompute).</param>
    public ChunkedPrefillScheduler(string name, IComparer<EngineRequest>? order = null, PreemptionMode preemption = PreemptionMode.Recompute)
    {
        Name = name;

        // The engine keeps every queue in vLLM's own FCFS order (arrivals appended, recompute victims in front),
        // so an explicit FCFS policy visits the queues as they are: no per-step sort of a long waiting queue.
        _queueOrder = ReferenceEquals(order, RequestOrder.Fcfs);
        _order = order ?? RequestOrder.Fcfs;
        _preemption = preemption;

        // The two built-in comparer orders are a key then submission order, so they can take the keyed path
        // (one key per request per step instead of two delegate calls per comparison) with the identical order.
        _staticKey = order is null ? StaticKey.Arrival : ReferenceEquals(order, RequestOrder.Priority) ? StaticKey.PriorityThenArrival : StaticKey.None;
        _compare = Compare;
    }

    private enum StaticKey
    {
        None,
        Arrival,
        PriorityThenArrival,
    }

    /// <inheritdoc />
    public string Name { get; }

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

    /// <summary>
    /// The queue order: negative when <paramref name="a"/> is served before <paramref name="b"/>. Must be a total order.
    /// A policy with a key (<see cref="UsesSortKey"/>) is ordered by its <see cref="SortKey"/> alone, so it overrides
    /// that and not this.
    /// </summary>
    protected virtual int Compare(EngineRequest a, EngineRequest b) =>
        UsesSortKey ? RequestOrder.Compare(SortKey(a), SortKey(b), a, b) : _order.Compare(a, b);

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
        running.AddRange(Sorted(view.Running));
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
        candidates.Clear();
        for (var i = 0; i < running.Count; i++)
        {
            if (running[i].IsPrefill && !budget.Contains(running[i]))
            {
                candidates.Add(KeyedRequest.Of(running[i], SortKey(running[i])));
            }
        }

        if (budget.SequencesLeft > 0 && budget.TokensLeft > 0)
        {
            var waiting = WaitingTop(view, budget.SequencesLeft + 1);
            for (var i = 0; i < waiting.Count; i++)
            {
                candidates.Add(KeyedRequest.Of(waiting[i], SortKey(waiting[i])));
            }
        }

        candidates.Sort();
        var preempted = false;
        var jumping = true;
        foreach (var (_, _, r) in candidates)
        {
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
        foreach (var (_, _, r) in candidates)
        {
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

        candidates.Clear();
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
    /// The first <paramref name="count"/> waiting requests in policy order, read within this step only. A policy that
    /// can tell this order from what it kept since an earlier step overrides it, with the same result.
    /// </summary>
    protected virtual IReadOnlyList<EngineRequest> WaitingTop(SchedulerView view, int count) => SortedTop(view.Waiting, count);

    /// <summary>The queue sorted by <see cref="Compare"/> (the queue itself for FCFS policies).</summary>
    protected IReadOnlyList<EngineRequest> Sorted(IReadOnlyList<EngineRequest> queue)
    {
        if (_queueOrder)
        {
            return queue;
        }

        if (UsesSortKey)
        {
            return SortedByKey(queue);
        }

        _sorted.Clear();
        _sorted.AddRange(queue);

        // List.Sort is unstable; every order breaks ties by submission sequence, so the result is deterministic.
        _sorted.Sort(_compare);
        return _sorted;
    }

    /// <summary>
    /// The first <paramref name="count"/> requests of the queue in policy order. Admission stops at the first request
    /// that does not fit and never takes more than the sequences left, so it only ever needs this prefix; selecting it
    /// costs O(queue) instead of sorting a long waiting queue every step.
    /// </summary>
    protected IReadOnlyList<EngineRequest> SortedTop(IReadOnlyList<EngineRequest> queue, int count)
    {
        if (_queueOrder || count >= queue.Count)
        {
            return Sorted(queue);
        }

        var top = _top;
        top.Clear();
        if (count <= 0)
        {
            return top;
        }

        if (UsesSortKey)
        {
            // Each key once, the head selected in linear time, and only the head sorted.
            var keys = KeysOf(queue);
            Quickselect.SmallestFirst(keys, count);
            var head = keys[..count];
            head.Sort();
            foreach (var k in head)
            {
                top.Add(k.Request);
            }

            keys.Clear();
            return top;
        }

        for (var i = 0; i < queue.Count; i++)
        {
            InsertBounded(top, queue[i], count, _compare);
        }

        return top;
    }

    private static void InsertBounded<T>(List<T> top, T item, int count, Comparison<T> compare)
    {
        if (top.Count == count && compare(item, top[^1]) >= 0)
        {
            return;
        }

        var lo = 0;
        var hi = top.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (compare(top[mid], item) <= 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        top.Insert(lo, item);
        if (top.Count > count)
        {
            top.RemoveAt(count);
        }
    }

    /// <summary>True when the order is <see cref="SortKey"/> ascending (then submission order), which lets a sort compute each key once.</summary>
    protected virtual bool UsesSortKey => _staticKey != StaticKey.None;

    /// <summary>The request's key when <see cref="UsesSortKey"/>: smaller is served first.</summary>
    /// <remarks>The built-in FCFS and priority comparers map to (arrival, 0) and (priority, arrival): the same order, ties included.</remarks>
    protected virtual (double Primary, double Secondary) SortKey(EngineRequest r) => _staticKey switch
    {
        StaticKey.Arrival => (r.ArrivalS, 0),
        StaticKey.PriorityThenArrival => (r.Spec.Priority, r.ArrivalS),
        _ => default,
    };

    private List<EngineRequest> SortedByKey(IReadOnlyList<EngineRequest> queue)
    {
        var keys = KeysOf(queue);

        // Keys are unique (submission order breaks ties), so any sort gives this exact order.
        keys.Sort();
        _sorted.Clear();
        foreach (var k in keys)
        {
            _sorted.Add(k.Request);
        }

        // Drop the request references so finished requests are not kept alive by the buffer.
        keys.Clear();
        return _sorted;
    }

    // Keys can depend on the time or on per-program counters; computing them once per request per step instead of
    // once per comparison is what keeps long queues cheap. The span is a reused buffer: clear it after use.
    private Span<KeyedRequest> KeysOf(IReadOnlyList<EngineRequest> queue)
    {
        var n = queue.Count;
        if (_keys.Length < n)
        {
            _keys = new KeyedRequest[Math.Max(n, _keys.Length * 2)];
        }

        var keys = _keys.AsSpan(0, n);
        for (var i = 0; i < n; i++)
        {
            var (primary, secondary) = SortKey(queue[i]);
            keys[i] = new KeyedRequest(primary, secondary, queue[i]);
        }

        return keys;
    }

    /// <summary>A request with its order key read once; submission order breaks ties, so keys are unique.</summary>
    protected readonly record struct KeyedRequest(double Primary, double Secondary, EngineRequest Request) : IComparable<KeyedRequest>
    {
        /// <summary>Pairs <paramref name="request"/> with its <paramref name="key"/>.</summary>
        public static KeyedRequest Of(EngineRequest request, (double Primary, double Secondary) key) => new(key.Primary, key.Secondary, request);

        /// <inheritdoc />
        public int CompareTo(KeyedRequest other)
        {
            var c = Primary.CompareTo(other.Primary);
            if (c == 0)
            {
                c = Secondary.CompareTo(other.Secondary);
            }

            return c != 0 ? c : Request.Sequence.CompareTo(other.Request.Sequence);
        }
    }
}
