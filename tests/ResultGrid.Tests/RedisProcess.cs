using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ResultGrid.Tests;

/// <summary>
/// A redis-server of a test's own (for TLS, restarts and outages), as a real process on a free
/// loopback port, in a temporary directory removed on dispose.
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private readonly string[] _arguments;
    private Process? _process;

    public RedisProcess(params string[] arguments)
    {
        Directory = Path.Combine(Path.GetTempPath(), $"rg-redis-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        Port = FreePort.Get();
        _arguments = arguments;
    }

    public string Directory { get; }
    public int Port { get; }

    /// <summary>Starts (or restarts) the server with the same port, directory and arguments.</summary>
    public async Task StartAsync(bool tls = false)
    {
        var info = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (tls)
        {
            foreach (var a in new[] { "--port", "0", "--tls-port", $"{Port}" })
            {
                info.ArgumentList.Add(a);
            }
        }
        else
        {
            info.ArgumentList.Add("--port");
            info.ArgumentList.Add($"{Port}");
        }

        foreach (var a in new[] { "--bind", "127.0.0.1", "--dir", Directory, "--save", "" }.Concat(_arguments))
        {
            info.ArgumentList.Add(a);
        }

        _process = Process.Start(info)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                Assert.False(_process.HasExited, $"redis-server exited with {(_process.HasExited ? _process.ExitCode : 0)}");
                await Task.Delay(25);
            }
        }

        throw new InvalidOperationException($"redis-server did not listen on {Port}");
    }

    /// <summary>kill -9: no shutdown, no save.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A CA and a server certificate for localhost signed by it, as PEM files in <see cref="Directory"/>.</summary>
    public (string CaFile, string CertFile, string KeyFile) CreateCertificates(string name)
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest($"CN=ResultGrid test CA {name}", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = request.Create(ca, now.AddDays(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(8));

        var caFile = Path.Combine(Directory, $"{name}-ca.pem");
        var certFile = Path.Combine(Directory, $"{name}-server.pem");
        var keyFile = Path.Combine(Directory, $"{name}-server.key");
        File.WriteAllText(caFile, ca.ExportCertificatePem());
        File.WriteAllText(certFile, server.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (caFile, certFile, keyFile);
    }
}
