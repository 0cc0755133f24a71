// SPDX-License-Identifier: GPL-2.0-or-later
// The XML namespace table gSOAP looks up by name; defined once, from the generated map.
#include "fencing/vsphere/vim25gen/soapH.h"
#include "fencing/vsphere/vim25gen/vim25.nsmap"
