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
internal sealed class QueuedRequest(RequestSpec spec, double dueS, long order)
{
    private readonly TaskCompletionSource<Replica> _placed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The request as the router sees it (class, SLO, prompt estimate, max_tokens, job).</summary>
    public RequestSpec Spec { get; } = spec;

    /// <summary>When it must start to meet its SLO: the gateway's queue order (least laxity first).</summary>
    public double DueS { get; } = dueS;

    /// <summary>Arrival order, the tie-break.</summary>
    public long Order { get; } = order;

    /// <summary>Completes with the replica the request was placed on.</summary>
    public Task<Replica> Placed => _placed.Task;

    /// <summary>The replica it holds a slot on, once placed.</summary>
    public Replica? Replica { get; set; }

    /// <summary>True once the slot was given back (or the request left the queue), so it is given back only once.</summary>
    public bool Done { get; set; }

    internal void Place(Replica replica)
    {
        Replica = replica;
        _placed.TrySetResult(replica);
    }

    internal void Fail(Exception e) => _placed.TrySetException(e);
}

/// <summary>
/// The gateway's own queue. Requests wait here, most urgent first (latest start time, as the engine-level
/// <c>tempo</c> policy orders safe requests), and are placed on a replica by the router only when that replica has
/// room under its in-flight budget. Ordering at the gateway would be lost if every request were forwarded at once to
/// an FCFS engine; holding them here keeps it. Every queued request is placed or removed exactly once, and no
/// replica ever holds more than its budget from here. Thread-safe: one lock guards the queue and the replicas'
/// counters.
/// </summary>
internal sealed class DispatchQueue(IRouter router, int maxQueue, int inFlightCap, int inFlightSlack, int tokenBudget, Func<double> nowS)
{
    private readonly Lock _gate = new();
    private readonly SortedSet<QueuedRequest> _waiting = new(Comparer<QueuedRequest>.Create(static (a, b) =>
    {
        var c = a.DueS.CompareTo(b.DueS);
        return c != 0 ? c : a.Order.CompareTo(b.Order);
    }));

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

            var best = double.NegativeInfinity;
            foreach (var load in _loads)
            {
                best = Math.Max(best, SloAwareRouter.Margin(spec, now, load));
            }

            if (shed && best < 0)
            {
                return (null, Refusal.SloUnattainable);
            }

            // Latest start: now plus the margin on the replica that serves the request best.
            var entry = new QueuedRequest(spec, double.IsFinite(best) ? now + best : now, _order++);
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
            var again = new QueuedRequest(entry.Spec, entry.DueS, entry.Order);
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

    // Places waiting requests, most urgent first, while some replica has room; the router picks among those.
    private void Dispatch()
    {
        while (_waiting.Count > 0)
        {
            OpenReplicas(requireRoom: true);
            if (_open.Count == 0)
            {
                return;
            }

            var next = _waiting.Min!;
            var pick = router.Pick(next.Spec, nowS(), _loads);
            if (pick < 0 || pick >= _open.Count)
            {
                throw new InvalidOperationException($"router '{router.Name}' picked replica {pick} of {_open.Count}");
            }

            var replica = _open[pick];
            _waiting.Remove(next);
            replica.InFlight++;
            replica.Forwarded++;
            replica.UnstartedPromptTokens += next.Spec.PromptTokens;
            next.Place(replica);
        }
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
