using Tempo.Scheduling.Baselines;
using Tempo.Scheduling.Collective;
using Tempo.Scheduling.Gain.JitServe;
using Tempo.Scheduling.Gain.SelectEdf;
using Tempo.Scheduling.Prediction;
using Tempo.Workloads;

namespace Tempo.Scheduling;

public static partial class PolicyRegistry
{
    private static void RegisterTempo()
    {
        Register(new PolicyInfo("tempo", "Tempo: select by value per unit of work under overload, serve least laxity first, online step costs, quantile feasibility",
            ChunkedTokenBudget,
            o => new SelectEdfScheduler("tempo", SelectEdf(o), o.Predictor ?? new FixedLengthPredictor(), o.StepCost, o.Engine.TokenBudget), Sheds: true));
        Register(new PolicyInfo("tempo-oracle", "tempo with true output lengths (upper reference, not deployable)",
            ChunkedTokenBudget,
            o => new SelectEdfScheduler("tempo-oracle", SelectEdf(o), new OracleLengthPredictor(), o.StepCost, o.Engine.TokenBudget), Sheds: true));
        Register(new PolicyInfo("jitserve", "The paper's Tempo/JITServe: service-gain density over refined length bounds, grouped re-plan every 50 steps, collective templates",
            ChunkedTokenBudget,
            o => CreateTempo("jitserve", o, o.Predictor ?? new FixedLengthPredictor(), trueGraphs: null)));
        Register(new PolicyInfo("jitserve-oracle", "jitserve with true output lengths and true job graphs (upper reference, not deployable)",
            ChunkedTokenBudget,
            o => CreateTempo("jitserve-oracle", o, new OracleLengthPredictor(), o.TrueJobGraphs)));
        Register(new PolicyInfo("slos-serve", "SLOs-Serve emulation: DP prefill admission by TTFT deadline, then chunked prefill",
            ChunkedTokenBudget,
            o => new SlosServeScheduler("slos-serve", o.Predictor ?? new FixedLengthPredictor(), o.StepCost?.DecodeStepS ?? TempoOptions.Default.InitialUnitTimeS)));
    }

    private static SelectEdfOptions SelectEdf(SchedulerOptions o)
    {
        var options = o.SelectEdf ?? SelectEdfOptions.Default;
        return o.ShedUnattainable ? options with { ShedUnattainable = true } : options;
    }

    private static TempoScheduler CreateTempo(string name, SchedulerOptions options, ILengthPredictor predictor, IReadOnlyDictionary<long, RecordedJob>? trueGraphs)
    {
        var tempo = options.Tempo ?? TempoOptions.Default;
        if (options.StepCost is { } prior)
        {
            tempo = tempo with { InitialUnitTimeS = prior.DecodeStepS };
        }

        return new TempoScheduler(name, options.Engine, tempo, predictor, TemplateLibrary.Seeded(tempo.TemplateSigma), trueGraphs);
    }
}
