using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ResultGrid.Tests;

/// <summary>Certificates for the TLS tests of every server (Redis, PostgreSQL): made here, never committed.</summary>
public static class TestCertificates
{
    /// <summary>A CA and a server certificate for localhost signed by it, as PEM files in <paramref name="directory"/>.</summary>
    public static (string CaFile, string CertFile, string KeyFile) Create(string directory, string name)
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

        var caFile = Path.Combine(directory, $"{name}-ca.pem");
        var certFile = Path.Combine(directory, $"{name}-server.pem");
        var keyFile = Path.Combine(directory, $"{name}-server.key");
        File.WriteAllText(caFile, ca.ExportCertificatePem());
        File.WriteAllText(certFile, server.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (caFile, certFile, keyFile);
    }
}
