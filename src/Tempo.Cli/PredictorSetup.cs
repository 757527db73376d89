using Tempo.Core;
using Tempo.Scheduling.Prediction;
using Tempo.Workloads;

namespace Tempo.Cli;

/// <summary>
/// Builds the length predictor for a simulate run. A QRF without a model file is trained on a held-out sample
/// that the run never replays: for generated workloads, the same generator with another seed; for traces and
/// files, the requests after the first N.
/// </summary>
internal static class PredictorSetup
{
    /// <summary>Offset between the run's seed and the training sample's seed.</summary>
    private const int TrainingSeedOffset = 7919;

    /// <summary>Minimum training sample size for generated workloads.</summary>
    private const int MinTrainingArrivals = 2000;

    public static ILengthPredictor For(SimulateSettings settings, WorkloadOptions options, TextWriter log)
    {
        if (settings.Predictor != "qrf" || settings.PredictorModel is not null)
        {
            return LengthPredictors.Create(settings.Predictor, settings.PredictorModel);
        }

        var training = HeldOut(settings, options);
        if (training.Count < 50)
        {
            throw new CliUsageException($"only {training.Count} held-out requests to train the QRF on; pass --predictor-model FILE (from 'tempo predictor train') or use fewer --requests");
        }

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var predictor = QrfLengthPredictor.Train(training, new QrfOptions { Seed = settings.Seed });
        log.WriteLine($"trained qrf length predictor on {training.Count} held-out requests in {watch.Elapsed.TotalSeconds:0.0} s");
        return predictor;
    }

    private static List<RequestSpec> HeldOut(SimulateSettings settings, WorkloadOptions options)
    {
        var isBuiltInGenerated = WorkloadCatalog.Names.Any(n => string.Equals(n.Name, settings.Workload, StringComparison.OrdinalIgnoreCase))
            && !string.Equals(settings.Workload, "azure-conv", StringComparison.OrdinalIgnoreCase);
        if (isBuiltInGenerated)
        {
            var sample = WorkloadCatalog.Create(settings.Workload, options with
            {
                Seed = options.Seed + TrainingSeedOffset,
                Requests = Math.Max(MinTrainingArrivals, settings.Requests),

                // The workload's own default rate: the model must not depend on which rates are swept.
                Rate = null,
            });
            return [.. sample.Requests];
        }

        // Traces: the run replays the first N arrivals; train on what comes after them.
        var all = WorkloadCatalog.Create(settings.Workload, options with { Requests = null, Rate = null });
        var used = WorkloadCatalog.Create(settings.Workload, options with { Rate = null });
        return [.. all.Requests.Skip(used.Requests.Count)];
    }
}
