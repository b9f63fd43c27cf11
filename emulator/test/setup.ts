// Test files import @peculiar/x509 directly; its tsyringe dependency needs the Reflect shim first.
import '@abraham/reflection'
