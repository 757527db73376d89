using Tempo.Core;
using Tempo.Fleet;

namespace Tempo.Gateway;

/// <summary>Why the gateway refused a request instead of queueing it.</summary>
internal enum Refusal
{
    /// <summary>Queued.</summary>
    None,

    /// <summary>The gateway's queue is at its bound.</summary>
    QueueFull,

    /// <summary>No replica is predicted to meet the request's SLO (shedding on).</summary>
    SloUnattainable,

    /// <summary>No healthy replica exists.</summary>
    NoReplica,
}

/// <summary>One request held by the gateway until a replica has room for it.</summary>
/// <param name="spec">The request as the router sees it.</param>
/// <param name="price">Its due time, lead, hold time and value, priced on the replica that serves it best.</param>
/// <param name="order">Arrival order, the tie-break.</param>
internal sealed class QueuedRequest(RequestSpec spec, QueuedPrice price, long order)
{
    private readonly TaskCompletionSource<Replica> _placed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The request as the router sees it (class, SLO, prompt estimate, max_tokens, job).</summary>
    public RequestSpec Spec { get; } = spec;

    /// <summary>Its due time, lead, hold time and value when it was queued.</summary>
    public QueuedPrice Price { get; } = price;

    /// <summary>When it must get an in-flight slot to meet its SLO: the gateway's queue order while not overloaded (least laxity first).</summary>
    public double LatestStartS => Price.DueS - Price.LeadS;

    /// <summary>Arrival order, the tie-break.</summary>
    public long Order { get; } = order;

    /// <summary>When it was placed on its replica (the gateway's clock).</summary>
    public double PlacedS { get; private set; }

    /// <summary>Completes with the replica the request was placed on.</summary>
    public Task<Replica> Placed => _placed.Task;

    /// <summary>The replica it holds a slot on, once placed.</summary>
    public Replica? Replica { get; set; }

    /// <summary>True once the slot was given back (or the request left the queue), so it is given back only once.</summary>
    public bool Done { get; set; }

    internal void Place(Replica replica, double nowS)
    {
        Replica = replica;
        PlacedS = nowS;
        _placed.TrySetResult(replica);
    }

    internal void Fail(Exception e) => _placed.TrySetException(e);
}

/// <summary>What the gateway knows of a queued request's timing and worth, from the replica that serves it best.</summary>
/// <param name="DueS">When what it owes is due: a stream's first token, a call's whole answer.</param>
/// <param name="LeadS">Predicted time from its start on that replica to what it owes.</param>
/// <param name="HoldS">Predicted time it holds an in-flight slot there (its whole answer).</param>
/// <param name="Value">Service gain of its whole answer (prompt and <c>max_tokens</c>) plus the mean of arrivals so far.</param>
internal readonly record struct QueuedPrice(double DueS, double LeadS, double HoldS, double Value)
{
    /// <summary>Value per second of slot it holds.</summary>
    public double Density => Value / Math.Max(HoldS, 1e-6);
}

/// <summary>
/// The gateway's own queue. Requests wait here and are placed on a replica by the router only when that replica has
/// room under its in-flight budget. Ordering at the gateway would be lost if every request were forwarded at once to
/// an FCFS engine; holding them here keeps it. The order is the engine-level <c>tempo</c> policy's, through the same
/// <see cref="SlotSchedule"/>: the waiting requests are list-scheduled onto the fleet's in-flight slots in latest-start
/// order; while every one fits, they go least laxity first; once some cannot start in time (overload), the safe ones go
/// by value per second of slot, then those at risk. Every queued request is placed or removed exactly once, and no
/// replica ever holds more than its budget from here. Thread-safe: one lock guards the queue and the replicas' counters.
/// </summary>
internal sealed class DispatchQueue(IRouter router, int maxQueue, int inFlightCap, int inFlightSlack, int tokenBudget, Func<double> nowS)
{
    private readonly Lock _gate = new();
    private readonly SortedSet<QueuedRequest> _waiting = new(Comparer<QueuedRequest>.Create(static (a, b) =>
    {
        var c = a.LatestStartS.CompareTo(b.LatestStartS);
        return c != 0 ? c : a.Order.CompareTo(b.Order);
    }));

    private readonly HashSet<QueuedRequest> _inFlight = [];
    private readonly SlotSchedule _slots = new();
    private readonly List<(QueuedRequest Entry, (double, double) Key)> _ranked = [];
    private readonly List<QueuedRequest> _serviceOrder = [];
    private double _valueSum;
    private long _valueCount;
    private readonly List<Replica> _replicas = [];
    private readonly List<Replica> _open = [];
    private readonly List<ReplicaLoad> _loads = [];
    private long _order;

    /// <summary>Requests waiting for a replica.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>The replicas, in the order they were added.</summary>
    public IReadOnlyList<Replica> Replicas
    {
        get
        {
            lock (_gate)
            {
                return [.. _replicas];
            }
        }
    }

    /// <summary>Adds a replica, or brings a retired one with the same id back.</summary>
    public Replica AddOrRevive(string id, Uri address)
    {
        lock (_gate)
        {
            var existing = _replicas.Find(r => r.Id == id);
            if (existing is not null)
            {
                existing.Retired = false;
                Dispatch();
                return existing;
            }

            var replica = new Replica(id, address);
            _replicas.Add(replica);
            Dispatch();
            return replica;
        }
    }

    /// <summary>Stops placing requests on a replica; what it has in flight finishes there.</summary>
    public void Retire(string id)
    {
        lock (_gate)
        {
            _replicas.Find(r => r.Id == id)?.Retired = true;
        }
    }

    /// <summary>Marks a replica healthy or not (a scrape or a forward result); a recovered one gets work at once.</summary>
    public void SetHealth(Replica replica, bool healthy)
    {
        lock (_gate)
        {
            replica.Healthy = healthy;
            if (healthy)
            {
                Dispatch();
            }
        }
    }

    /// <summary>Records a scrape and places what now fits.</summary>
    public void Update(Replica replica, ScrapedLoad load)
    {
        lock (_gate)
        {
            replica.Scraped = load;
            replica.Healthy = true;
            Dispatch();
        }
    }

    /// <summary>
    /// Queues a request, or refuses it: at the queue bound, with no usable replica, or (when <paramref name="shed"/>)
    /// when no usable replica is predicted to meet its SLO.
    /// </summary>
    public (QueuedRequest? Entry, Refusal Refusal) Enqueue(RequestSpec spec, bool shed)
    {
        lock (_gate)
        {
            var now = nowS();
            OpenReplicas(requireRoom: false);
            if (_open.Count == 0)
            {
                return (null, Refusal.NoReplica);
            }

            if (_waiting.Count >= maxQueue)
            {
                return (null, Refusal.QueueFull);
            }

            var best = 0;
            var bestMargin = double.NegativeInfinity;
            for (var i = 0; i < _loads.Count; i++)
            {
                var margin = SloAwareRouter.Margin(spec, now, _loads[i]);
                if (margin > bestMargin)
                {
                    (best, bestMargin) = (i, margin);
                }
            }

            if (shed && bestMargin < 0)
            {
                return (null, Refusal.SloUnattainable);
            }

            var entry = new QueuedRequest(spec, Price(spec, now, _loads[best]), _order++);
            _waiting.Add(entry);
            Dispatch();
            return (entry, Refusal.None);
        }
    }

    /// <summary>Removes a request that is still waiting (its client left); false if it was already placed.</summary>
    public bool Cancel(QueuedRequest entry)
    {
        lock (_gate)
        {
            if (entry.Done || entry.Replica is not null)
            {
                return false;
            }

            entry.Done = true;
            _waiting.Remove(entry);
            entry.Fail(new OperationCanceledException("the client left before the request was placed"));
            return true;
        }
    }

    /// <summary>Marks the response of a placed request as started: its prompt no longer counts as backlog.</summary>
    public void Started(QueuedRequest entry)
    {
        lock (_gate)
        {
            if (entry.Replica is { } r && !entry.Done)
            {
                r.UnstartedPromptTokens = Math.Max(0, r.UnstartedPromptTokens - entry.Spec.PromptTokens);
            }
        }
    }

    /// <summary>Gives a placed request's slot back (it ended, however) and places what now fits. Idempotent.</summary>
    public void Release(QueuedRequest entry, bool started)
    {
        lock (_gate)
        {
            if (entry.Done)
            {
                return;
            }

            entry.Done = true;
            _inFlight.Remove(entry);
            if (entry.Replica is { } r)
            {
                r.InFlight--;
                if (!started)
                {
                    r.UnstartedPromptTokens = Math.Max(0, r.UnstartedPromptTokens - entry.Spec.PromptTokens);
                }
            }

            Dispatch();
        }
    }

    /// <summary>
    /// A placed request failed on its replica before its response started: the replica is marked unhealthy and the
    /// request goes back into the queue, to be placed elsewhere. Returns the new entry (await its <see cref="QueuedRequest.Placed"/>).
    /// </summary>
    public QueuedRequest Requeue(QueuedRequest entry)
    {
        lock (_gate)
        {
            if (entry.Replica is { } failed)
            {
                failed.Healthy = false;
                failed.Requeued++;
            }

            Release(entry, started: false);
            var again = new QueuedRequest(entry.Spec, entry.Price, entry.Order);
            _waiting.Add(again);
            Dispatch();
            return again;
        }
    }

    /// <summary>Fails every waiting request when no replica is left to serve it (called by the monitor).</summary>
    public int FailWaitingIfNoReplica()
    {
        lock (_gate)
        {
            OpenReplicas(requireRoom: false);
            if (_open.Count > 0 || _waiting.Count == 0)
            {
                return 0;
            }

            var n = _waiting.Count;
            foreach (var e in _waiting)
            {
                e.Done = true;
                e.Fail(new NoReplicaException());
            }

            _waiting.Clear();
            return n;
        }
    }

    // The request's due time, lead, hold and value on the replica that serves it best; its arrival adds to the mean
    // value, the per-request bonus that makes finishing a request count as well as its tokens. Lead and hold start
    // when it gets an in-flight slot: the wait for one is what the slot schedule models.
    private QueuedPrice Price(RequestSpec spec, double now, ReplicaLoad load)
    {
        var ttft = load.FirstTokenOnceStartedS(spec.PromptTokens);
        var hold = ttft + (Math.Max(0, spec.OutputTokens - 1) * load.StepS);
        var value = GainWeights.Paper.Of(spec.PromptTokens, spec.OutputTokens);
        _valueSum += value;
        _valueCount++;
        return spec.Class == RequestClass.Latency
            ? new QueuedPrice(now + spec.Slo.TtftS, ttft, hold, value + (_valueSum / _valueCount))
            : new QueuedPrice(spec.ArrivalS + spec.Slo.DeadlineS, hold, hold, value + (_valueSum / _valueCount));
    }

    // Places waiting requests in the service order while some replica has room; the router picks among those.
    private void Dispatch()
    {
        OpenReplicas(requireRoom: true);
        if (_waiting.Count == 0 || _open.Count == 0)
        {
            return;
        }

        // Dispatch runs under the lock and placing completes no continuation inline, so the list is not reused while
        // this loop reads it.
        foreach (var next in Ranked())
        {
            OpenReplicas(requireRoom: true);
            if (_open.Count == 0)
            {
                return;
            }

            var now = nowS();
            var pick = router.Pick(next.Spec, now, _loads);
            if (pick < 0 || pick >= _open.Count)
            {
                throw new InvalidOperationException($"router '{router.Name}' picked replica {pick} of {_open.Count}");
            }

            var replica = _open[pick];
            _waiting.Remove(next);
            _inFlight.Add(next);
            replica.InFlight++;
            replica.Forwarded++;
            replica.UnstartedPromptTokens += next.Spec.PromptTokens;
            next.Place(replica, now);
        }
    }

    // The waiting requests in service order. The slot schedule runs over every usable replica's budget: a slot held by
    // a request in flight frees when its predicted hold ends. While nothing is shed the order is the queue's own
    // (latest start first) and is returned as it stands.
    private List<QueuedRequest> Ranked()
    {
        var now = nowS();
        _slots.Begin(now);
        OpenReplicas(requireRoom: false);
        foreach (var replica in _open)
        {
            var budget = replica.Budget(inFlightCap, inFlightSlack);
            for (var i = replica.InFlight; i < budget; i++)
            {
                _slots.AddSlot(now);
            }
        }

        foreach (var e in _inFlight)
        {
            if (e.Replica is { Healthy: true, Retired: false })
            {
                _slots.AddSlot(e.PlacedS + e.Price.HoldS);
            }
        }

        _ranked.Clear();
        var atRisk = 0;
        foreach (var e in _waiting)
        {
            // At risk (tier 1) when even a start now is too late, or when the slot schedule cannot start it in time.
            var tier = now > e.LatestStartS ? 1 : 0;
            if (tier == 0 && !_slots.TryPlace(e.Price.LeadS, e.Price.HoldS, e.Price.DueS))
            {
                tier = 1;
            }

            atRisk += tier;
            _ranked.Add((e, (tier, e.LatestStartS)));
        }

        var overloaded = _slots.Overloaded(atRisk, double.NegativeInfinity);
        for (var i = 0; i < _ranked.Count; i++)
        {
            var (e, (tier, latestStart)) = _ranked[i];
            _ranked[i] = (e, SlotSchedule.OrderKey((int)tier, latestStart, e.Price.Density, overloaded));
        }

        _ranked.Sort(static (a, b) =>
        {
            var c = a.Key.CompareTo(b.Key);
            return c != 0 ? c : a.Entry.Order.CompareTo(b.Entry.Order);
        });
        _serviceOrder.Clear();
        foreach (var (e, _) in _ranked)
        {
            _serviceOrder.Add(e);
        }

        _ranked.Clear();
        return _serviceOrder;
    }

    private void OpenReplicas(bool requireRoom)
    {
        _open.Clear();
        _loads.Clear();
        foreach (var r in _replicas)
        {
            if (r.Healthy && !r.Retired && (!requireRoom || r.InFlight < r.Budget(inFlightCap, inFlightSlack)))
            {
                _open.Add(r);
                _loads.Add(r.Load(tokenBudget));
            }
        }
    }
}

/// <summary>No healthy replica is left to serve a queued request.</summary>
internal sealed class NoReplicaException() : Exception("no healthy replica is left to serve the request");
