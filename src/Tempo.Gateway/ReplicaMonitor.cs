using Yarp.ReverseProxy.Configuration;

namespace Tempo.Gateway;

/// <summary>
/// Reads every replica's <c>/metrics</c> on an interval (its queues, KV usage and latency histograms feed the
/// router and the in-flight budget; a replica that cannot be read is unhealthy until it can), and re-reads the
/// backends file when it changes: new addresses join the fleet and YARP's configuration, removed ones are retired.
/// </summary>
internal sealed class ReplicaMonitor(DispatchQueue queue, InMemoryConfigProvider config, GatewayOptions options, HttpClient http,
    Func<IEnumerable<Uri>, GatewayOptions, ClusterConfig> cluster, GatewayMetrics metrics) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, int> _maxRunning = new(StringComparer.Ordinal);
    private Task? _loop;
    private DateTime _fileStamp;

    public void Start()
    {
        _fileStamp = options.BackendsFile is { } f && File.Exists(f) ? File.GetLastWriteTimeUtc(f) : default;
        _loop = Task.Run(() => Loop(_stop.Token));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        _stop.Dispose();
        http.Dispose();
    }

    private async Task Loop(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(options.ScrapeInterval);
        do
        {
            ReloadBackendsFile();
            await Task.WhenAll(queue.Replicas.Where(r => !r.Retired).Select(r => Scrape(r, stop)));
            var failed = queue.FailWaitingIfNoReplica();
            if (failed > 0)
            {
                metrics.Refused("no_replica", failed);
            }
        }
        while (await timer.WaitForNextTickAsync(stop));
    }

    private async Task Scrape(Replica replica, CancellationToken stop)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            var text = await http.GetStringAsync(new Uri(replica.Address, "/metrics"), timeout.Token);
            var m = PrometheusText.Sums(text);
            var running = (int)(PrometheusText.First(m, "vllm:num_requests_running", "llamacpp:requests_processing") ?? 0);
            var waiting = (int)(PrometheusText.First(m, "vllm:num_requests_waiting", "llamacpp:requests_deferred") ?? 0);
            var kv = PrometheusText.First(m, "vllm:kv_cache_usage_perc", "llamacpp:kv_cache_usage_ratio") ?? 0;
            var maxRunning = Math.Max(_maxRunning.GetValueOrDefault(replica.Id), running);
            _maxRunning[replica.Id] = maxRunning;
            var step = Mean(m, "vllm:inter_token_latency_seconds") ?? 0.02;
            var ttft = Mean(m, "vllm:time_to_first_token_seconds") ?? 0;
            var e2e = Mean(m, "vllm:e2e_request_latency_seconds") ?? 0;
            queue.Update(replica, new ScrapedLoad(running, waiting, kv, maxRunning, step, Math.Max(step, e2e - ttft), ttft));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or OperationCanceledException)
        {
            if (!stop.IsCancellationRequested)
            {
                queue.SetHealth(replica, false);
            }
        }
    }

    private static double? Mean(Dictionary<string, double> m, string histogram) =>
        m.TryGetValue(histogram + "_sum", out var sum) && m.TryGetValue(histogram + "_count", out var count) && count > 0 ? sum / count : null;

    private void ReloadBackendsFile()
    {
        if (options.BackendsFile is not { } file || !File.Exists(file))
        {
            return;
        }

        var stamp = File.GetLastWriteTimeUtc(file);
        if (stamp == _fileStamp)
        {
            return;
        }

        _fileStamp = stamp;
        IReadOnlyList<Uri> listed;
        try
        {
            listed = GatewayOptions.ReadBackendsFile(file);
        }
        catch (Exception e) when (e is ArgumentException or IOException)
        {
            metrics.BadBackendsFile();
            return; // keep the fleet as it is; a half-written file must not empty it
        }

        var all = options.Backends.Concat(listed).Distinct().ToList();
        var ids = all.Select(TempoGateway.IdOf).ToHashSet(StringComparer.Ordinal);
        foreach (var b in all)
        {
            queue.AddOrRevive(TempoGateway.IdOf(b), b);
        }

        foreach (var r in queue.Replicas.Where(r => !ids.Contains(r.Id)))
        {
            queue.Retire(r.Id);
        }

        // Retired replicas stay in YARP's cluster until their requests finish; they get nothing new from the queue.
        var known = queue.Replicas.Select(r => r.Address);
        config.Update(config.GetConfig().Routes, [cluster(known, options)]);
    }
}
