using Microsoft.Extensions.Logging;

using Tempo.Core;

namespace Tempo.Server;

/// <summary>The server's log lines, source-generated so disabled levels cost nothing per request.</summary>
internal static partial class ServerLog
{
    /// <summary>The one-line summary of a finished request, at debug level.</summary>
    public static void RequestFinished(ILogger logger, RequestOutcome outcome)
    {
        if (!logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        var r = outcome.Record;
        var cls = r.Spec.Class.ToString().ToLowerInvariant();
        var finish = ServingMetrics.ReasonLabel(r.Reason);
        var ttftMs = (r.TtftS ?? double.NaN) * 1000;
        var detail = r.Detail is null ? "" : $" ({r.Detail})";
        RequestFinished(logger, r.Spec.Id, cls, r.Spec.PromptTokens, r.TokenTimesS.Count, r.Spec.OutputTokens, finish, ttftMs, r.E2eS * 1000, outcome.SloMet, outcome.ServiceGain, detail);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug,
        Message = "request {Id} {Class} prompt={Prompt} out={Output}/{MaxTokens} finish={Finish} ttft={TtftMs:0.0}ms e2e={E2eMs:0.0}ms slo_met={SloMet} gain={Gain:0.#}{Detail}")]
    private static partial void RequestFinished(ILogger logger, long id, string @class, int prompt, int output, int maxTokens, string finish, double ttftMs, double e2eMs, bool sloMet, double gain, string detail);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "engine: running {Running}, waiting {Waiting}, swapped {Swapped}, KV {KvPercent:0.0}%, prompt {PromptRate:0.0} tok/s, generation {GenerationRate:0.0} tok/s, finished {Finished} (SLO met {Met}) in the last {IntervalS:0}s")]
    public static partial void Stats(ILogger logger, int running, int waiting, int swapped, double kvPercent, double promptRate, double generationRate, long finished, long met, double intervalS);

    [LoggerMessage(EventId = 3, Level = LogLevel.Critical, Message = "engine step failed; every live request is aborted and the server refuses new ones")]
    public static partial void EngineFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "serving {Model} with policy {Policy} (max batch {MaxBatch}, token budget {TokenBudget}, context {Context}) on {Address}")]
    public static partial void Started(ILogger logger, string model, string policy, int maxBatch, int tokenBudget, int context, string address);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "shutting down: refusing new requests, {Live} in flight get {GraceS:0.#}s to finish")]
    public static partial void Draining(ILogger logger, int live, double graceS);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "request {Id}: client disconnected, aborting")]
    public static partial void ClientGone(ILogger logger, long id);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "{Method} {Path}: the handler failed; answered 500")]
    public static partial void HandlerFailed(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "request {Id}: failed inside the engine and was ended; the engine carries on")]
    public static partial void RequestFailed(ILogger logger, long id, Exception exception);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "drained: {Live} requests still in flight are aborted; closing the listener")]
    public static partial void Drained(ILogger logger, int live);
}
