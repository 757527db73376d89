using BenchmarkDotNet.Attributes;

using Tempo.Core;
using Tempo.Scheduling.Prediction;
using Tempo.Workloads;

namespace Tempo.Benchmarks;

/// <summary>QRF length prediction (admission) and refinement on the mixed workload's synthetic prompts.</summary>
[MemoryDiagnoser]
public class PredictorBenchmarks
{
    private QrfLengthPredictor _qrf = null!;
    private RequestSpec[] _specs = [];
    private ILengthPosterior _posterior = null!;
    private int _next;

    /// <summary>Trains a default-size forest (100 trees) on 3,000 arrivals of the mixed workload.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var train = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 3000, Seed = 1 }).Requests;
        _qrf = QrfLengthPredictor.Train(train, new QrfOptions { Seed = 1 });
        _specs = [.. WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 500, Seed = 2 }).Requests];
        _posterior = _qrf.Predict(_specs[0]);
    }

    /// <summary>One prediction at admission (features + forest walk + pooled distribution).</summary>
    [Benchmark]
    public int Predict()
    {
        var spec = _specs[_next++ % _specs.Length];
        return _qrf.Predict(spec).BoundAfter(0);
    }

    /// <summary>One conditional-quantile refinement from a kept posterior.</summary>
    [Benchmark]
    public int Refine() => _posterior.BoundAfter(_next++ % 900);
}
