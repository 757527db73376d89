namespace Tempo.Server;

/// <summary>
/// Maps clients' collective job ids to engine job ids and remembers when each job arrived, so every call of a job
/// is judged against one deadline from its first call. Bounded in time and count: a job is forgotten
/// <c>max(ttl, 2 × deadline)</c> after its first call, and past <paramref name="capacity"/> jobs the oldest goes
/// first, so a client that never sends a job's last stage cannot make the table grow. Not thread-safe.
/// <para>
/// It also judges each job once, as the simulator does: met when every call of it met the job's deadline. The server
/// is not told how many calls a job will make, so the verdict is given when the job is forgotten: by then any further
/// call would be past the deadline. A call still live then counts the job as missed.
/// </para>
/// </summary>
/// <param name="capacity">Most jobs remembered at once.</param>
/// <param name="ttlS">Shortest time a job is remembered, in seconds.</param>
/// <param name="judged">Told each job's verdict (true: met) when the job is forgotten.</param>
internal sealed class JobRegistry(int capacity, double ttlS, Action<bool>? judged = null)
{
    private readonly Dictionary<string, Entry> _byKey = new(StringComparer.Ordinal);
    private readonly Dictionary<long, Entry> _byId = [];

    // Arrival order, for expiry and eviction; entries of keys already removed are skipped when met.
    private readonly Queue<(string Key, long Id)> _order = new();
    private long _nextJob;

    /// <summary>Jobs remembered now.</summary>
    public int Count => _byKey.Count;

    /// <summary>The job of <paramref name="key"/>: its engine id and arrival, created on first sight.</summary>
    /// <param name="key">The client's job id.</param>
    /// <param name="nowS">Now, on the engine clock.</param>
    /// <param name="deadlineS">The job's deadline, relative to its arrival (from the call's SLO).</param>
    /// <remarks>Counts one more live call of the job: the caller hands the call to the engine, which ends it once.</remarks>
    public (long Id, double ArrivalS) Resolve(string key, double nowS, double deadlineS)
    {
        Expire(nowS);
        if (_byKey.TryGetValue(key, out var known))
        {
            known.Live++;
            return (known.Id, known.ArrivalS);
        }

        while (_byKey.Count >= capacity && _order.TryDequeue(out var oldest))
        {
            RemoveIfCurrent(oldest);
        }

        var entry = new Entry(++_nextJob, nowS, nowS + Math.Max(ttlS, 2 * deadlineS)) { Live = 1 };
        _byKey[key] = entry;
        _byId[entry.Id] = entry;
        _order.Enqueue((key, entry.Id));
        return (entry.Id, entry.ArrivalS);
    }

    /// <summary>A call of job <paramref name="jobId"/> ended, meeting the job's deadline or not (ignored once the job is forgotten).</summary>
    public void CallEnded(long jobId, bool met, double nowS)
    {
        Expire(nowS);
        if (_byId.TryGetValue(jobId, out var entry))
        {
            entry.Live--;
            entry.Ended++;
            entry.Missed |= !met;
        }
    }

    private void Expire(double nowS)
    {
        // The queue is in arrival order but expiry times differ by deadline: stop at the first live entry, and let a
        // long-lived entry at the head hold back shorter ones behind it (they go once it does, or by capacity).
        while (_order.TryPeek(out var head) && (!_byKey.TryGetValue(head.Key, out var e) || e.Id != head.Id || e.ExpiresS <= nowS))
        {
            _order.Dequeue();
            RemoveIfCurrent(head);
        }
    }

    private void RemoveIfCurrent((string Key, long Id) item)
    {
        if (_byKey.TryGetValue(item.Key, out var e) && e.Id == item.Id)
        {
            _byKey.Remove(item.Key);
            _byId.Remove(e.Id);
            judged?.Invoke(e.Ended > 0 && e.Live == 0 && !e.Missed);
        }
    }

    private sealed class Entry(long id, double arrivalS, double expiresS)
    {
        public long Id { get; } = id;

        public double ArrivalS { get; } = arrivalS;

        public double ExpiresS { get; } = expiresS;

        /// <summary>Calls handed to the engine and not yet ended.</summary>
        public int Live { get; set; }

        public int Ended { get; set; }

        /// <summary>Some call ended past the job's deadline (or without its answer).</summary>
        public bool Missed { get; set; }
    }
}
