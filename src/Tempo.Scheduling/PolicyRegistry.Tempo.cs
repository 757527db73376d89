using Tempo.Scheduling.Collective;
using Tempo.Scheduling.Prediction;
using Tempo.Scheduling.Tempo;

namespace Tempo.Scheduling;

public static partial class PolicyRegistry
{
    private static void RegisterTempo()
    {
        Register(new PolicyInfo("tempo", "Tempo/JITServe: service-gain density over refined length bounds, grouped re-plan every 50 steps, collective templates",
            ChunkedTokenBudget,
            o => CreateTempo("tempo", o, o.Predictor ?? new FixedLengthPredictor(), trueGraphs: null)));
        Register(new PolicyInfo("tempo-oracle", "Tempo with true output lengths and true job graphs (upper reference, not deployable)",
            ChunkedTokenBudget,
            o => CreateTempo("tempo-oracle", o, new OracleLengthPredictor(), o.TrueJobGraphs)));
        Register(new PolicyInfo("slos-serve", "SLOs-Serve emulation: DP prefill admission by TTFT deadline, then chunked prefill",
            ChunkedTokenBudget,
            o => new SlosServeScheduler("slos-serve", o.Predictor ?? new FixedLengthPredictor())));
    }

    private static TempoScheduler CreateTempo(string name, SchedulerOptions options, ILengthPredictor predictor, IReadOnlyDictionary<long, RecordedJob>? trueGraphs)
    {
        var tempo = options.Tempo ?? TempoOptions.Default;
        return new TempoScheduler(name, options.Engine, tempo, predictor, TemplateLibrary.Seeded(tempo.TemplateSigma), trueGraphs);
    }
}
