// SPDX-License-Identifier: GPL-2.0-or-later
//
// The vim25 subset veeam-had needs, declared by hand for soapcpp2 (there is no WSDL offline).
// soapcpp2 turns this into serializers and soap_call___vim25__* functions at build time, into the
// build folder; only this header is kept in git.
//
// Rules a real vCenter enforces and this file follows:
// - namespace urn:vim25 with the prefix `vim25`, elements qualified, attributes not;
// - SOAP 1.1, document/literal, one wrapper element per operation;
// - members in the WSDL's order (a real vCenter rejects elements out of order);
// - `_this` is written `_USCOREthis`, `PowerOffVM_Task` is `PowerOffVM_USCORETask`.
// Types that are only received declare every member optional: the reader must survive what a
// newer vCenter adds or leaves out. Property values (DynamicProperty.val) and fault details are
// read as DOM trees, because their type is only known from xsi:type.

//gsoap vim25 service name: vim25
//gsoap vim25 service type: VimPortType
//gsoap vim25 service namespace: urn:vim25
//gsoap vim25 service style: document
//gsoap vim25 service encoding: literal
//gsoap vim25 schema namespace: urn:vim25
//gsoap vim25 schema elementForm: qualified
//gsoap vim25 schema attributeForm: unqualified

#import "stl.h"
#import "dom.h"

// SOAP 1.1 fault detail: the vim25 fault element (e.g. <NoPermissionFault xsi:type="NoPermission">)
// kept as DOM so any fault type can be classified by its xsi:type.
struct SOAP_ENV__Detail {
    xsd__anyType __any;
    int __type;
    void* fault;
};

// ---- data types ------------------------------------------------------------------------------

class vim25__ManagedObjectReference {
  public:
    std::string __item;
    @std::string type 1;
};

class vim25__AboutInfo {
  public:
    std::string* name 0;
    std::string* fullName 0;
    std::string* version 0;
    std::string* apiType 0;
    std::string* apiVersion 0;
    std::string* instanceUuid 0;
};

// ServiceContent: only what veeam-had uses; a reader skips the other elements.
class vim25__ServiceContent {
  public:
    vim25__ManagedObjectReference* rootFolder 0;
    vim25__ManagedObjectReference* propertyCollector 0;
    vim25__ManagedObjectReference* viewManager 0;
    vim25__AboutInfo* about 0;
    vim25__ManagedObjectReference* sessionManager 0;
    vim25__ManagedObjectReference* searchIndex 0;
};

class vim25__UserSession {
  public:
    std::string* key 0;
    std::string* userName 0;
    std::string* fullName 0;
};

class vim25__SelectionSpec {
  public:
    std::string* name 0;
};

class vim25__TraversalSpec : public vim25__SelectionSpec {
  public:
    std::string type 1;
    std::string path 1;
    bool* skip 0;
    std::vector<vim25__SelectionSpec*> selectSet 0;
};

class vim25__PropertySpec {
  public:
    std::string type 1;
    bool* all 0;
    std::vector<std::string> pathSet 0;
};

class vim25__ObjectSpec {
  public:
    vim25__ManagedObjectReference obj 1;
    bool* skip 0;
    std::vector<vim25__SelectionSpec*> selectSet 0;
};

class vim25__PropertyFilterSpec {
  public:
    std::vector<vim25__PropertySpec> propSet 1;
    std::vector<vim25__ObjectSpec> objectSet 1;
    bool* reportMissingObjectsInResults 0;
};

class vim25__RetrieveOptions {
  public:
    int* maxObjects 0;
};

class vim25__DynamicProperty {
  public:
    std::string* name 0;
    xsd__anyType val 0;
};

class vim25__MissingProperty {
  public:
    std::string* path 0;
    xsd__anyType fault 0;  // LocalizedMethodFault
};

class vim25__ObjectContent {
  public:
    vim25__ManagedObjectReference* obj 0;
    std::vector<vim25__DynamicProperty> propSet 0;
    std::vector<vim25__MissingProperty> missingSet 0;
};

class vim25__RetrieveResult {
  public:
    std::string* token 0;
    std::vector<vim25__ObjectContent> objects 0;
};

// WaitForUpdatesEx: how long vCenter may hold the call open when nothing changed.
class vim25__WaitOptions {
  public:
    int* maxWaitSeconds 0;
    int* maxObjectUpdates 0;
};

class vim25__PropertyChange {
  public:
    std::string* name 0;
    std::string* op 0;  // assign, add, remove, indirectRemove
    xsd__anyType val 0;
};

class vim25__ObjectUpdate {
  public:
    std::string* kind 0;  // enter, modify, leave
    vim25__ManagedObjectReference* obj 0;
    std::vector<vim25__PropertyChange> changeSet 0;
    std::vector<vim25__MissingProperty> missingSet 0;
};

class vim25__MissingObject {
  public:
    vim25__ManagedObjectReference* obj 0;
    xsd__anyType fault 0;  // LocalizedMethodFault
};

class vim25__PropertyFilterUpdate {
  public:
    vim25__ManagedObjectReference* filter 0;
    std::vector<vim25__ObjectUpdate> objectSet 0;
    std::vector<vim25__MissingObject> missingSet 0;
};

class vim25__UpdateSet {
  public:
    std::string* version 0;
    std::vector<vim25__PropertyFilterUpdate> filterSet 0;
    bool* truncated 0;
};

// ---- operation wrappers (request, response) --------------------------------------------------

class _vim25__RetrieveServiceContent {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
};
class _vim25__RetrieveServiceContentResponse {
  public:
    vim25__ServiceContent* returnval 0;
};

class _vim25__Login {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
    std::string userName 1;
    std::string password 1;
    std::string* locale 0;
};
class _vim25__LoginResponse {
  public:
    vim25__UserSession* returnval 0;
};

class _vim25__Logout {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
};
class _vim25__LogoutResponse {
  public:
};

class _vim25__FindByUuid {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
    vim25__ManagedObjectReference* datacenter 0;
    std::string uuid 1;
    bool vmSearch 1;
    bool* instanceUuid 0;
};
class _vim25__FindByUuidResponse {
  public:
    vim25__ManagedObjectReference* returnval 0;  // absent: no such VM
};

class _vim25__RetrievePropertiesEx {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
    std::vector<vim25__PropertyFilterSpec> specSet 1;
    vim25__RetrieveOptions options 1;
};
class _vim25__RetrievePropertiesExResponse {
  public:
    vim25__RetrieveResult* returnval 0;  // absent: nothing matched
};

class _vim25__ContinueRetrievePropertiesEx {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
    std::string token 1;
};
class _vim25__ContinueRetrievePropertiesExResponse {
  public:
    vim25__RetrieveResult* returnval 0;
};

class _vim25__CancelRetrievePropertiesEx {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
    std::string token 1;
};
class _vim25__CancelRetrievePropertiesExResponse {
  public:
};

class _vim25__CreateFilter {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
    vim25__PropertyFilterSpec spec 1;
    bool partialUpdates 1;
};
class _vim25__CreateFilterResponse {
  public:
    vim25__ManagedObjectReference* returnval 0;
};

class _vim25__DestroyPropertyFilter {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
};
class _vim25__DestroyPropertyFilterResponse {
  public:
};

class _vim25__WaitForUpdatesEx {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
    std::string* version 0;  // empty: the current state; else what changed since that version
    vim25__WaitOptions* options 0;
};
class _vim25__WaitForUpdatesExResponse {
  public:
    vim25__UpdateSet* returnval 0;  // absent: maxWaitSeconds passed and nothing changed
};

class _vim25__CreateContainerView {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
    vim25__ManagedObjectReference container 1;
    std::vector<std::string> type 0;
    bool recursive 1;
};
class _vim25__CreateContainerViewResponse {
  public:
    vim25__ManagedObjectReference* returnval 0;
};

class _vim25__DestroyView {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
};
class _vim25__DestroyViewResponse {
  public:
};

class _vim25__PowerOffVM_USCORETask {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
};
class _vim25__PowerOffVM_USCORETaskResponse {
  public:
    vim25__ManagedObjectReference* returnval 0;
};

class _vim25__PowerOnVM_USCORETask {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
};
class _vim25__PowerOnVM_USCORETaskResponse {
  public:
    vim25__ManagedObjectReference* returnval 0;
};

class _vim25__ResetVM_USCORETask {
  public:
    vim25__ManagedObjectReference _USCOREthis 1;
};
class _vim25__ResetVM_USCORETaskResponse {
  public:
    vim25__ManagedObjectReference* returnval 0;
};

// ---- operations ----------------------------------------------------------------------------
// The SOAPAction names the API version the requests are written for; every vCenter since 6.5
// accepts it.

//gsoap vim25 service method-action: RetrieveServiceContent urn:vim25/6.5
int __vim25__RetrieveServiceContent(_vim25__RetrieveServiceContent* vim25__RetrieveServiceContent,
                                    _vim25__RetrieveServiceContentResponse& vim25__RetrieveServiceContentResponse);

//gsoap vim25 service method-action: Login urn:vim25/6.5
int __vim25__Login(_vim25__Login* vim25__Login, _vim25__LoginResponse& vim25__LoginResponse);

//gsoap vim25 service method-action: Logout urn:vim25/6.5
int __vim25__Logout(_vim25__Logout* vim25__Logout, _vim25__LogoutResponse& vim25__LogoutResponse);

//gsoap vim25 service method-action: FindByUuid urn:vim25/6.5
int __vim25__FindByUuid(_vim25__FindByUuid* vim25__FindByUuid,
                        _vim25__FindByUuidResponse& vim25__FindByUuidResponse);

//gsoap vim25 service method-action: RetrievePropertiesEx urn:vim25/6.5
int __vim25__RetrievePropertiesEx(_vim25__RetrievePropertiesEx* vim25__RetrievePropertiesEx,
                                  _vim25__RetrievePropertiesExResponse& vim25__RetrievePropertiesExResponse);

//gsoap vim25 service method-action: ContinueRetrievePropertiesEx urn:vim25/6.5
int __vim25__ContinueRetrievePropertiesEx(
    _vim25__ContinueRetrievePropertiesEx* vim25__ContinueRetrievePropertiesEx,
    _vim25__ContinueRetrievePropertiesExResponse& vim25__ContinueRetrievePropertiesExResponse);

//gsoap vim25 service method-action: CancelRetrievePropertiesEx urn:vim25/6.5
int __vim25__CancelRetrievePropertiesEx(
    _vim25__CancelRetrievePropertiesEx* vim25__CancelRetrievePropertiesEx,
    _vim25__CancelRetrievePropertiesExResponse& vim25__CancelRetrievePropertiesExResponse);

//gsoap vim25 service method-action: CreateFilter urn:vim25/6.5
int __vim25__CreateFilter(_vim25__CreateFilter* vim25__CreateFilter,
                          _vim25__CreateFilterResponse& vim25__CreateFilterResponse);

//gsoap vim25 service method-action: DestroyPropertyFilter urn:vim25/6.5
int __vim25__DestroyPropertyFilter(_vim25__DestroyPropertyFilter* vim25__DestroyPropertyFilter,
                                   _vim25__DestroyPropertyFilterResponse& vim25__DestroyPropertyFilterResponse);

//gsoap vim25 service method-action: WaitForUpdatesEx urn:vim25/6.5
int __vim25__WaitForUpdatesEx(_vim25__WaitForUpdatesEx* vim25__WaitForUpdatesEx,
                              _vim25__WaitForUpdatesExResponse& vim25__WaitForUpdatesExResponse);

//gsoap vim25 service method-action: CreateContainerView urn:vim25/6.5
int __vim25__CreateContainerView(_vim25__CreateContainerView* vim25__CreateContainerView,
                                 _vim25__CreateContainerViewResponse& vim25__CreateContainerViewResponse);

//gsoap vim25 service method-action: DestroyView urn:vim25/6.5
int __vim25__DestroyView(_vim25__DestroyView* vim25__DestroyView,
                         _vim25__DestroyViewResponse& vim25__DestroyViewResponse);

//gsoap vim25 service method-action: PowerOffVM_USCORETask urn:vim25/6.5
int __vim25__PowerOffVM_USCORETask(_vim25__PowerOffVM_USCORETask* vim25__PowerOffVM_USCORETask,
                                   _vim25__PowerOffVM_USCORETaskResponse& vim25__PowerOffVM_USCORETaskResponse);

//gsoap vim25 service method-action: PowerOnVM_USCORETask urn:vim25/6.5
int __vim25__PowerOnVM_USCORETask(_vim25__PowerOnVM_USCORETask* vim25__PowerOnVM_USCORETask,
                                  _vim25__PowerOnVM_USCORETaskResponse& vim25__PowerOnVM_USCORETaskResponse);

//gsoap vim25 service method-action: ResetVM_USCORETask urn:vim25/6.5
int __vim25__ResetVM_USCORETask(_vim25__ResetVM_USCORETask* vim25__ResetVM_USCORETask,
                                _vim25__ResetVM_USCORETaskResponse& vim25__ResetVM_USCORETaskResponse);
