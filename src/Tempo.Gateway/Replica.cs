using Tempo.Fleet;

namespace Tempo.Gateway;

/// <summary>
/// One backend server as the gateway sees it: the requests it has in flight from here, what its <c>/metrics</c> said
/// last, and whether it is usable. Mutated only under the <see cref="DispatchQueue"/>'s lock, except the scraped
/// fields, which the monitor replaces whole.
/// </summary>
internal sealed class Replica(string id, Uri address)
{
    /// <summary>Name of the replica (its YARP destination id).</summary>
    public string Id { get; } = id;

    /// <summary>Base address, for example <c>http://10.0.0.5:8000/</c>.</summary>
    public Uri Address { get; } = address;

    /// <summary>Requests forwarded to it and not yet finished.</summary>
    public int InFlight { get; set; }

    /// <summary>Estimated prompt tokens of the in-flight requests whose response has not started.</summary>
    public long UnstartedPromptTokens { get; set; }

    /// <summary>False after a failed scrape or a failed forward, until a scrape succeeds again.</summary>
    public bool Healthy { get; set; } = true;

    /// <summary>Taken out of the fleet (removed from the backends file): finishes what it has, gets nothing new.</summary>
    public bool Retired { get; set; }

    /// <summary>The last successful scrape, or null before the first.</summary>
    public ScrapedLoad? Scraped { get; set; }

    /// <summary>Requests forwarded here since start.</summary>
    public long Forwarded { get; set; }

    /// <summary>Requests that failed here before their response started, and were sent elsewhere.</summary>
    public long Requeued { get; set; }

    /// <summary>
    /// Most requests the gateway keeps in flight here: the largest running batch the replica has reported plus
    /// <paramref name="slack"/> (so its next batch can start without waiting for the gateway), at most
    /// <paramref name="cap"/>; <paramref name="cap"/> until the replica has reported a batch. Holding the rest at the
    /// gateway keeps them in the gateway's order instead of the replica's FCFS queue.
    /// </summary>
    public int Budget(int cap, int slack) => Scraped is { MaxRunningSeen: > 0 } s ? Math.Min(cap, s.MaxRunningSeen + slack) : cap;

    /// <summary>What a router sees: the scraped queues, corrected by what the gateway itself has in flight.</summary>
    public ReplicaLoad Load(int tokenBudget)
    {
        var s = Scraped ?? new ScrapedLoad(0, 0, 0, 0, 0.02, 1, 0);
        var running = Math.Max(s.Running, Math.Min(InFlight, s.MaxRunningSeen > 0 ? s.MaxRunningSeen : InFlight));
        var waiting = Math.Max(s.Waiting, InFlight - running);
        return new ReplicaLoad(running, waiting, 0, Math.Max(1, s.MaxRunningSeen), tokenBudget, s.KvUsage, UnstartedPromptTokens, s.StepS, s.ServiceS);
    }
}

/// <summary>A replica's load as read from its Prometheus metrics.</summary>
/// <param name="Running">Requests in its running batch (<c>vllm:num_requests_running</c>, <c>llamacpp:requests_processing</c>).</param>
/// <param name="Waiting">Requests queued there (<c>vllm:num_requests_waiting</c>, <c>llamacpp:requests_deferred</c>).</param>
/// <param name="KvUsage">KV-cache usage 0..1 (<c>vllm:kv_cache_usage_perc</c>, <c>llamacpp:kv_cache_usage_ratio</c>).</param>
/// <param name="MaxRunningSeen">The largest running batch seen so far: a lower bound of its batch size.</param>
/// <param name="StepS">Mean gap between tokens (inter-token latency histogram), the replica's step time.</param>
/// <param name="ServiceS">Mean end-to-end latency minus mean TTFT: how long a request holds a batch slot.</param>
/// <param name="TtftS">Mean time to first token.</param>
internal sealed record ScrapedLoad(int Running, int Waiting, double KvUsage, int MaxRunningSeen, double StepS, double ServiceS, double TtftS);
