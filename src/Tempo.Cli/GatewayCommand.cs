using System.CommandLine;
using System.Runtime.InteropServices;

using Tempo.Gateway;

namespace Tempo.Cli;

/// <summary><c>tempo gateway</c>: the SLO-aware gateway in front of several OpenAI-compatible replicas (docs/GATEWAY.md).</summary>
internal static class GatewayCommand
{
    private static readonly Option<string[]> BackendOption = new("--backend") { Description = "a replica's base address (repeat for each), e.g. http://127.0.0.1:8001", AllowMultipleArgumentsPerToken = false };
    private static readonly Option<string?> BackendsFileOption = new("--backends-file") { Description = "a file with one replica address per line, re-read when it changes (replicas join and leave at run time)" };
    private static readonly Option<string> HostOption = new("--host") { Description = "address to bind (loopback unless told otherwise)", DefaultValueFactory = _ => "127.0.0.1" };
    private static readonly Option<int> PortOption = new("--port") { Description = "TCP port (0 picks a free one)", DefaultValueFactory = _ => 8080 };
    private static readonly Option<string> PolicyOption = new("--policy") { Description = $"router: {string.Join(", ", Fleet.RouterRegistry.Names)}", DefaultValueFactory = _ => "tempo" };
    private static readonly Option<string?> ApiKeyOption = new("--api-key") { Description = "require 'Authorization: Bearer KEY' on /v1/* (not forwarded)" };
    private static readonly Option<int> MaxQueueOption = new("--max-queue") { Description = "most requests held at the gateway; more get 429 queue_full", DefaultValueFactory = _ => 1024 };
    private static readonly Option<int> MaxInFlightOption = new("--max-in-flight") { Description = "most requests in flight per replica (the cap; the budget follows the replica's reported batch + 2)", DefaultValueFactory = _ => 64 };
    private static readonly Option<bool> SetPriorityOption = new("--set-priority") { Description = "add vLLM's request priority (the latest start in ms, lower first) to requests that carry none, for backends that schedule by it" };
    private static readonly Option<bool> ShedOption = new("--shed-unattainable") { Description = "answer 429 slo_unattainable when no replica is predicted to meet a request's SLO" };

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("gateway", "Serve an OpenAI-compatible gateway that queues, routes and sheds requests across several replicas (tempo serve, vLLM, llama-server).");
        foreach (var option in new Option[] { BackendOption, BackendsFileOption, HostOption, PortOption, PolicyOption, ApiKeyOption, MaxQueueOption, MaxInFlightOption, ShedOption, SetPriorityOption })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse => CliErrors.Guard(() => Run(parse)));
        return command;
    }

    private static int Run(ParseResult parse)
    {
        var backends = new List<Uri>();
        foreach (var b in parse.GetValue(BackendOption) ?? [])
        {
            if (!Uri.TryCreate(ServerUrlOrHttp(b), UriKind.Absolute, out var uri))
            {
                throw new CliUsageException($"--backend: '{b}' is not an address");
            }

            backends.Add(uri);
        }

        var options = new GatewayOptions
        {
            Backends = backends,
            BackendsFile = parse.GetValue(BackendsFileOption),
            Host = parse.GetValue(HostOption)!,
            Port = parse.GetValue(PortOption),
            Router = OptionParsing.Router(parse.GetValue(PolicyOption)!),
            ApiKey = parse.GetValue(ApiKeyOption),
            MaxQueue = OptionParsing.Positive(parse.GetValue(MaxQueueOption), "--max-queue"),
            MaxInFlightPerReplica = OptionParsing.Positive(parse.GetValue(MaxInFlightOption), "--max-in-flight"),
            ShedUnattainable = parse.GetValue(ShedOption),
            SetPriority = parse.GetValue(SetPriorityOption),
        };
        if (options.BackendsFile is { } file && !File.Exists(file))
        {
            throw new CliUsageException($"--backends-file: '{file}' does not exist");
        }

        var gateway = TempoGateway.StartAsync(options).GetAwaiter().GetResult();
        Console.Error.WriteLine($"tempo gateway: listening on {gateway.BaseAddress} in front of {backends.Count + (options.BackendsFile is null ? 0 : GatewayOptions.ReadBackendsFile(options.BackendsFile).Count)} replica(s), router {options.Router}");
        using var stop = new ManualResetEventSlim();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
        stop.Wait();
        gateway.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    // "127.0.0.1:8001" is accepted as http://127.0.0.1:8001.
    private static string ServerUrlOrHttp(string value) => value.Contains("://", StringComparison.Ordinal) ? value : "http://" + value;
}
