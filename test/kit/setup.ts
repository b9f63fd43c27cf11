// Runs first in every file of both workerd projects. Test files import @peculiar/x509 directly;
// its tsyringe dependency throws at import time unless the Reflect metadata API exists.
import '@abraham/reflection'
